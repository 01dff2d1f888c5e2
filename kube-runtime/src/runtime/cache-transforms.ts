/**
 * Cache transforms (controller-runtime's `cache.Options.DefaultTransform` / `ByObject.Transform`): what the
 * informers keep of each object — only what a reconciler reads — so thousands of objects fit in a small heap.
 * Pure functions; each returns a new, smaller object. Pass them as an informer's `transform` option.
 *
 * - Any object: {@link slimMetadata} keeps identity, version and ownership (no annotations such as kubectl's
 *   last-applied-configuration, no managedFields).
 * - StatefulSet: slim metadata, `status.replicas/readyReplicas/observedGeneration`, and the spec kept as its JSON text
 *   behind a lazy `spec` getter: drift detection can still compare every field a controller sets (a JSON string is a
 *   few KiB, the same spec as a JS object graph several times that), and only a reconcile pays for parsing it.
 * - Metadata-only children (Secrets, Services, NetworkPolicies, listed as PartialObjectMetadata): slim metadata.
 */
import type { KubernetesObject, V1ObjectMeta, V1StatefulSet } from '@kubernetes/client-node';

/** A cached child known by its metadata only. */
export interface MetadataOnly extends KubernetesObject {
  metadata: V1ObjectMeta;
}

/** Identity, version and ownership: what every cached object keeps. */
export function slimMetadata(m: V1ObjectMeta | undefined): V1ObjectMeta {
  if (!m) return {};
  const out: V1ObjectMeta = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.labels) out.labels = m.labels;
  if (m.ownerReferences) out.ownerReferences = m.ownerReferences;
  if (m.deletionTimestamp) out.deletionTimestamp = m.deletionTimestamp;
  if (m.finalizers) out.finalizers = m.finalizers;
  return out;
}

/** A child known by its metadata: apiVersion, kind and {@link slimMetadata}. */
export function slimChildMetadata<T extends KubernetesObject>(obj: T): T {
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMetadata(obj.metadata) } as T;
}

/**
 * The StatefulSet with slim metadata, the status fields the reconciler reads, and `spec` parsed on access from the
 * JSON text it keeps (each access returns a fresh object: read it once per reconcile).
 */
export function compactStatefulSet<T extends V1StatefulSet>(sts: T): T {
  const json = sts.spec === undefined ? undefined : JSON.stringify(sts.spec);
  const s = sts.status;
  const out = {
    apiVersion: sts.apiVersion,
    kind: sts.kind,
    metadata: slimMetadata(sts.metadata),
    ...(s ? { status: { replicas: s.replicas, readyReplicas: s.readyReplicas, observedGeneration: s.observedGeneration } } : {}),
  } as T;
  if (json !== undefined) Object.defineProperty(out, 'spec', { enumerable: true, get: () => JSON.parse(json) as unknown });
  return out;
}
