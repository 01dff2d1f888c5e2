/** The apiserver client: kubeconfig loading, the keep-alive transport, the JSON/SSA client, Events, the error type. */
export * from './client.js';
export * from './errors.js';
export * from './events.js';
export * from './kubeconfig.js';
export * from './managed-fields.js';
export * from './transport.js';
