/**
 * The WhatsAppInstance cache transform: what the instance informer keeps of each resource — the metadata the
 * reconciler uses (no labels or managedFields; of the annotations only `wacloud.io/restarted-at`, a restart request),
 * spec and status as they are. The children's transforms
 * are generic and come from @wacloud/kube-runtime (`compactStatefulSet`, `slimChildMetadata`).
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { RESTARTED_AT_ANNOTATION, type WhatsAppInstance } from '@wacloud/crds';
import { slimMetadata } from '@wacloud/kube-runtime';

/** The instance without labels, managedFields and annotations but the restart request (the reconciler reads no other). */
export function slimInstance<T extends WhatsAppInstance>(wai: T): T {
  const { labels: _labels, ...meta } = slimMetadata(wai.metadata as V1ObjectMeta);
  const restartedAt = wai.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  if (restartedAt) meta.annotations = { [RESTARTED_AT_ANNOTATION]: restartedAt };
  return { apiVersion: wai.apiVersion, kind: wai.kind, metadata: meta, spec: wai.spec, ...(wai.status ? { status: wai.status } : {}) } as T;
}
