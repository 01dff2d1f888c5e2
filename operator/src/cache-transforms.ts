/**
 * The operator's cache transforms: what the informers keep of each object.
 * - WhatsAppInstance: the metadata the reconciler uses (no labels or managedFields; of the annotations only
 *   `wacloud.io/restarted-at`, a restart request), spec and status as they are.
 * - StatefulSet: slim metadata (with `generation`, labels and owner references), `spec.replicas` only and the status
 *   the reconciler reads. Its spec is not kept (it was ~4–6 KiB of JSON text per instance, the largest part of the
 *   caches): drift of the spec shows as a new `metadata.generation` (the apiserver bumps it on every spec change), and
 *   the reconciler then reads the StatefulSet and compares every field (`VerifiedChildren`, verified.ts).
 * Secrets and Services are cached with kube-runtime's generic `slimChildMetadata`. No per-object closures: the
 * results are plain objects.
 */
import type { V1ObjectMeta, V1StatefulSet } from '@kubernetes/client-node';
import { RESTARTED_AT_ANNOTATION, type WhatsAppInstance } from '@wacloud/crds';
import { slimMetadata } from '@wacloud/kube-runtime';

/** The instance without labels, managedFields and annotations but the restart request (the reconciler reads no other). */
export function slimInstance<T extends WhatsAppInstance>(wai: T): T {
  const { labels: _labels, ...meta } = slimMetadata(wai.metadata as V1ObjectMeta);
  const restartedAt = wai.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  if (restartedAt) meta.annotations = { [RESTARTED_AT_ANNOTATION]: restartedAt };
  return { apiVersion: wai.apiVersion, kind: wai.kind, metadata: meta, spec: wai.spec, ...(wai.status ? { status: wai.status } : {}) } as T;
}

/**
 * The StatefulSet as the reconciler reads it from the cache: slim metadata (name, namespace, uid, resourceVersion,
 * generation, labels, owner references), `spec.replicas`, and `status.replicas` / `readyReplicas` /
 * `observedGeneration`.
 */
export function slimStatefulSet<T extends V1StatefulSet>(sts: T): T {
  const s = sts.status;
  return {
    apiVersion: sts.apiVersion,
    kind: sts.kind,
    metadata: slimMetadata(sts.metadata),
    ...(sts.spec ? { spec: { replicas: sts.spec.replicas } } : {}),
    ...(s ? { status: { replicas: s.replicas, readyReplicas: s.readyReplicas, observedGeneration: s.observedGeneration } } : {}),
  } as T;
}
