/**
 * The instances' Service: one headless Service per namespace ({@link INSTANCES_SERVICE}, no ClusterIP, no owner),
 * selecting every instance pod by `app.kubernetes.io/name=wacloud-instance` — the governing service of every
 * instance's StatefulSet, so each pod gets its own DNS name `<name>-0.wacloud-instances.<namespace>.svc`, the address
 * the api uses (gateway, internal API: `status.serviceName`, `instancePodHost` in @wacloud/crds). Written once per
 * namespace, like the NetworkPolicy: a Service per instance was one more write and one more cached object per
 * instance. `publishNotReadyAddresses`: the gateway must reach a pod that waits for its QR scan. Prometheus scrapes
 * the pods through a PodMonitor, not a Service.
 *
 * Instances whose StatefulSet was created before (its `spec.serviceName` cannot change) keep their own headless
 * Service `<name>-headless` ({@link buildLegacyService}), owned by the instance.
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { INSTANCES_SERVICE, PORTS, childNames, type WhatsAppInstance } from '@wacloud/crds';
import { childMeta, instancePodLabels, namespaceObjectMeta, selectorLabels } from './meta.js';

export { INSTANCES_SERVICE };

export const METRICS_PORT = { name: 'metrics', port: 9090 } as const;

const ports = (): V1ServicePort[] =>
  [PORTS.public, PORTS.internal, METRICS_PORT].map((p) => ({
    name: p.name,
    port: p.port,
    targetPort: p.name,
    protocol: 'TCP',
    appProtocol: 'http',
  }));

/**
 * Desired shared Service of the instances of `namespace`: headless, not-ready addresses published, selecting every
 * instance pod there (and nothing else: only instance pods carry `app.kubernetes.io/name=wacloud-instance`), public,
 * internal and metrics ports. No owner (it outlives any one instance); the `managed-by` label the operator watches.
 */
export function buildInstancesService(namespace: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: namespaceObjectMeta(INSTANCES_SERVICE, namespace),
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: instancePodLabels(), ports: ports() },
  };
}

/**
 * Desired per-instance Service of an instance whose StatefulSet's governing service is `<name>-headless` (created
 * before the shared Service): headless, selecting its pod, the same ports, owned by the instance.
 */
export function buildLegacyService(wai: WhatsAppInstance): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(wai, childNames(wai.metadata.name!).legacyHeadlessService),
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: selectorLabels(wai), ports: ports() },
  };
}
