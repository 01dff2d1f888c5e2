/**
 * The WhatsAppInstance cache transform: what the instance informer keeps of each resource — the metadata the
 * reconciler uses (no labels, annotations or managedFields), spec and status as they are. The children's transforms
 * are generic and come from @wacloud/kube-runtime (`compactStatefulSet`, `slimChildMetadata`).
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { WhatsAppInstance } from '@wacloud/crds';
import { slimMetadata } from '@wacloud/kube-runtime';

/** The instance without labels, annotations and managedFields (the reconciler reads none of them). */
export function slimInstance<T extends WhatsAppInstance>(wai: T): T {
  const { labels: _labels, ...meta } = slimMetadata(wai.metadata as V1ObjectMeta);
  return { apiVersion: wai.apiVersion, kind: wai.kind, metadata: meta, spec: wai.spec, ...(wai.status ? { status: wai.status } : {}) } as T;
}
