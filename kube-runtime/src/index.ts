/**
 * @wacloud/kube-runtime: a small Kubernetes client and controller runtime in the manner of client-go and
 * controller-runtime, without @kubernetes/client-node at run time. `client/`: kubeconfig, keep-alive transport,
 * JSON + server-side-apply client, Events, {@link ApiServerError}. `runtime/`: informer, work queue, controller,
 * leader election, metrics, health server. Nothing here knows a particular custom resource: kinds, owners and names
 * are parameters.
 */
export * from './client/index.js';
export * from './runtime/index.js';
