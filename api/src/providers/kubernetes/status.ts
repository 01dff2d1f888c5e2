/**
 * The api's view of a WhatsAppInstance's status as the operator reports it (pure).
 */
import type { Condition, WhatsAppInstance } from '@wacloud/crds';
import type { ProviderStatus } from '../provider.js';

/**
 * `Terminating` once deleted, else `status.phase` (`Pending` before the operator's first status) with the session
 * state, and for a phase other than `Running` the messages of the `Reconciled` and `Ready` conditions that are not
 * `True`.
 */
export function statusOf(wai: WhatsAppInstance): ProviderStatus {
  const session = wai.status?.session?.state;
  const sessionState = session && session !== 'Unknown' ? session : undefined;
  if (wai.metadata.deletionTimestamp) return { phase: 'Terminating', sessionState, message: 'The instance is being deleted' };
  const phase = wai.status?.phase ?? 'Pending';
  if (phase === 'Running') return { phase, sessionState };
  if (!wai.status) return { phase, message: 'Waiting for the operator to reconcile the instance' };
  const conditions = wai.status.conditions ?? [];
  const messages = ['Reconciled', 'Ready']
    .map((type) => conditions.find((c: Condition) => c.type === type))
    .filter((c): c is Condition => c !== undefined && c.status !== 'True' && c.message !== '')
    .map((c) => c.message);
  return { phase, sessionState, message: messages.length > 0 ? [...new Set(messages)].join('; ') : undefined };
}
