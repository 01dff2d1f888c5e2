/**
 * The operator's cache transforms: what the informers keep of each object.
 * - WhatsAppInstance: the metadata the reconciler uses (with creationTimestamp; no labels or managedFields; of the
 *   annotations only `wacloud.io/restarted-at`, a restart request), spec and status as they are.
 * - StatefulSet: slim metadata (with `generation`, labels and owner references), `spec.replicas` and `serviceName` (its
 *   governing Service, immutable) only and the status
 *   the reconciler reads. Its spec is not kept (it was ~4–6 KiB of JSON text per instance, the largest part of the
 *   caches): drift of the spec shows as a new `metadata.generation` (the apiserver bumps it on every spec change), and
 *   the reconciler then reads the StatefulSet and compares every field (`VerifiedChildren`, verified.ts).
 * - Secrets, Services and NetworkPolicies: metadata only ({@link slimChild}).
 * Strings that repeat from object to object — namespaces, apiVersions and kinds, label values, owners, condition
 * types, reasons, messages and times — are kept once ({@link intern}): JSON parsing makes a new copy of each for every
 * object, ~1.3 KiB per instance. No per-object closures: the results are plain objects.
 */
import type { KubernetesObject, V1ObjectMeta, V1OwnerReference, V1StatefulSet } from '@kubernetes/client-node';
import { RESTARTED_AT_ANNOTATION, type WhatsAppInstance, type WhatsAppInstanceStatus } from '@wacloud/crds';
import { slimMetadata } from '@wacloud/kube-runtime';

/** Most distinct strings kept by {@link intern}; beyond it, new strings are returned as they are. */
export const INTERN_LIMIT = 20_000;
const pool = new Map<string, string>();

/** The one kept copy of `s` (the first one seen), so equal strings of many cached objects share one copy. */
export function intern<T extends string | undefined>(s: T): T {
  if (s === undefined) return s;
  const kept = pool.get(s);
  if (kept !== undefined) return kept as T;
  if (pool.size < INTERN_LIMIT) pool.set(s, s);
  return s;
}

function internLabels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!labels) return undefined;
  const out: Record<string, string> = {};
  for (const k in labels) out[k] = intern(labels[k]!);
  return out;
}

function internOwners(refs: V1OwnerReference[] | undefined): V1OwnerReference[] | undefined {
  return refs?.map((r) => ({ ...r, apiVersion: intern(r.apiVersion), kind: intern(r.kind) }));
}

/** kube-runtime's slim metadata with its repeated strings interned. */
function slimMeta(m: V1ObjectMeta | undefined): V1ObjectMeta {
  const out = slimMetadata(m);
  out.namespace = intern(out.namespace);
  if (out.labels) out.labels = internLabels(out.labels);
  if (out.ownerReferences) out.ownerReferences = internOwners(out.ownerReferences);
  if (out.finalizers) out.finalizers = out.finalizers.map(intern);
  return out;
}

/** A child known by its metadata: apiVersion, kind, name, namespace, uid, resourceVersion, labels, owner references. */
export function slimChild<T extends KubernetesObject>(obj: T): T {
  return { apiVersion: intern(obj.apiVersion), kind: intern(obj.kind), metadata: slimMeta(obj.metadata) } as T;
}

function internStatus(s: WhatsAppInstanceStatus): WhatsAppInstanceStatus {
  return {
    ...s,
    phase: intern(s.phase),
    ...(s.conditions
      ? {
          conditions: s.conditions.map((c) => ({
            ...c,
            type: intern(c.type),
            status: intern(c.status),
            reason: intern(c.reason),
            message: intern(c.message),
            lastTransitionTime: intern(c.lastTransitionTime),
          })),
        }
      : {}),
    ...(s.internalSecretRef ? { internalSecretRef: { name: s.internalSecretRef.name, key: intern(s.internalSecretRef.key) } } : {}),
    ...(s.session
      ? {
          session: {
            ...s.session,
            state: intern(s.session.state),
            reason: intern(s.session.reason),
            lastProbeTime: intern(s.session.lastProbeTime),
          },
        }
      : {}),
  };
}

/** The instance without labels, managedFields and annotations but the restart request (the reconciler reads no other). */
export function slimInstance<T extends WhatsAppInstance>(wai: T): T {
  const { labels: _labels, ...meta } = slimMeta(wai.metadata as V1ObjectMeta);
  // Its age ranks claims on a database (database-claims.ts).
  if (wai.metadata.creationTimestamp) meta.creationTimestamp = wai.metadata.creationTimestamp as unknown as Date;
  const restartedAt = wai.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  if (restartedAt) meta.annotations = { [RESTARTED_AT_ANNOTATION]: restartedAt };
  const spec = { ...wai.spec, owner: intern(wai.spec.owner), ...(wai.spec.engine ? { engine: intern(wai.spec.engine) } : {}) };
  return {
    apiVersion: intern(wai.apiVersion),
    kind: intern(wai.kind),
    metadata: meta,
    spec,
    ...(wai.status ? { status: internStatus(wai.status) } : {}),
  } as T;
}

/**
 * The StatefulSet as the reconciler reads it from the cache: slim metadata (name, namespace, uid, resourceVersion,
 * generation, labels, owner references), `spec.replicas` and `spec.serviceName`, and `status.replicas` / `readyReplicas` /
 * `observedGeneration`.
 */
export function slimStatefulSet<T extends V1StatefulSet>(sts: T): T {
  const s = sts.status;
  return {
    apiVersion: intern(sts.apiVersion),
    kind: intern(sts.kind),
    metadata: slimMeta(sts.metadata),
    ...(sts.spec ? { spec: { replicas: sts.spec.replicas, serviceName: intern(sts.spec.serviceName) } } : {}),
    ...(s ? { status: { replicas: s.replicas, readyReplicas: s.readyReplicas, observedGeneration: s.observedGeneration } } : {}),
  } as T;
}
