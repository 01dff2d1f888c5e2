/**
 * Writing a WhatsAppInstance's status: through the status subresource with server-side apply (field manager
 * `wacloud-operator`), only when it changed, every condition carrying observedGeneration = metadata.generation.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, KIND, type Condition, type WhatsAppInstance, type WhatsAppInstanceStatus } from '@wacloud/crds';
import type { KubeClient } from '@wacloud/kube-runtime';
import { sameJson, setCondition } from './conditions.js';

/** The conditions a write sets (their lastTransitionTime and observedGeneration are filled in). */
export type ConditionsToSet = Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>;

/** What a status write needs: the client, the cache's write-through and the clock. */
export interface StatusWriterDeps {
  client: KubeClient;
  /** Write-through: the apiserver's answer into the instance cache. */
  wrote?: (obj: KubernetesObject) => void;
  now?: () => Date;
}

/**
 * Writes `mutate(status)` with `conditions` set (setCondition: lastTransitionTime kept while a condition's status
 * holds) when it differs from `wai.status` other than by the session probe's time; otherwise writes nothing.
 * @throws the apiserver's error.
 */
export async function writeInstanceStatus(
  d: StatusWriterDeps,
  wai: WhatsAppInstance,
  mutate: (s: WhatsAppInstanceStatus) => WhatsAppInstanceStatus,
  conditions: ConditionsToSet,
): Promise<void> {
  const current = wai.status ?? {};
  const now = d.now?.() ?? new Date();
  let conds = current.conditions ?? [];
  for (const c of conditions) conds = setCondition(conds, { ...c, observedGeneration: wai.metadata.generation }, now);
  const next: WhatsAppInstanceStatus = { ...mutate(current), observedGeneration: wai.metadata.generation, conditions: conds };
  if (sameStatus(current, next)) return;
  const updated = await d.client.apply<KubernetesObject>(
    { apiVersion: API_VERSION, kind: KIND, metadata: { name: wai.metadata.name, namespace: wai.metadata.namespace }, status: next },
    FIELD_MANAGER,
    { subresource: 'status' },
  );
  d.wrote?.(updated);
}

/** Status equality ignoring the session probe time (refreshing only that is not worth a write). */
function sameStatus(a: WhatsAppInstanceStatus, b: WhatsAppInstanceStatus): boolean {
  const strip = (s: WhatsAppInstanceStatus) => ({
    ...s,
    session: s.session ? { state: s.session.state, reason: s.session.reason } : undefined,
  });
  return sameJson(strip(a), strip(b));
}
