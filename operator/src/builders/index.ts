/** Pure builders of an instance's desired children (one file per kind), unit-tested without a cluster. */
export { childLabels, childMeta, instancePodLabels, ownerReference, selectorLabels } from './meta.js';
export { MONGODB_URI_SECRET_KEY, buildInternalSecret, databaseName, mongoUriWithDatabase, newInternalKey } from './secret.js';
export { INSTANCES_SERVICE, METRICS_PORT, buildInstancesService, buildLegacyService } from './service.js';
export { cidrContains, parseCidr, type Cidr } from './cidr.js';
export {
  INSTANCES_NETWORK_POLICY,
  buildNetworkPolicy,
  ipBlocks,
  peerOf,
  type EgressOptions,
  type EgressRule,
  type NetworkPolicyManifest,
  type NetworkPolicyOptions,
  type PeerSelector,
} from './network-policy.js';
export {
  CHROMIUM_SANDBOX_ENV,
  DATA_DIR,
  INTERNAL_SECRET_DIR,
  RESERVED_INSTANCE_ENV,
  RUN_AS,
  buildStatefulSet,
  type ChromiumSandbox,
  type SeccompProfile,
  type StatefulSetOptions,
} from './statefulset.js';
