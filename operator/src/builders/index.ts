/** Pure builders of an instance's desired children (one file per kind), unit-tested without a cluster. */
export { childLabels, childMeta, ownerReference, selectorLabels } from './meta.js';
export { MONGODB_URI_SECRET_KEY, buildInternalSecret, databaseName, mongoUriWithDatabase, newInternalKey } from './secret.js';
export { METRICS_PORT, buildHeadlessService, buildService } from './service.js';
export { buildNetworkPolicy, type NetworkPolicyManifest, type NetworkPolicyOptions } from './network-policy.js';
export { DATA_DIR, INTERNAL_SECRET_DIR, RUN_AS, buildStatefulSet, type StatefulSetOptions } from './statefulset.js';
