/**
 * Batched delivery to the api (the `api` target only; tenant webhooks stay one event per POST, their contract). When the
 * api subscription names a `batch` size (an api that takes batches, docs/team.md §1), the api dispatcher (concurrency
 * 1) sends up to that many due events of this instance in one POST, in the outbox's order:
 *
 *     {"instanceId": "...", "events": [{"id", "event", "createdAt", "payload"}, ...]}
 *
 * signed as one body with the webhook scheme (`X-Wacloud-Signature` over `<timestamp>.<raw body>`). The api handles
 * them in order and answers 200 `{accepted: k, results: [{id, duplicate}] (the first k), error?: {id, code}}`: the
 * first `k` are taken (new or already taken before), event `k` failed and it and those after are delivered again
 * (nothing lost; the api de-duplicates by event id, so nothing is applied twice). Any other answer counts for the whole
 * batch like a single delivery's; a 400 or 413 (an api without batches, or a body too large for it) makes the
 * dispatcher deliver those events one per POST for a while ({@link SINGLE_FALLBACK_MS}).
 */
import type { OutboxDoc } from '../storage/store.js';

/** Bytes of a batch body at most (the api reads up to 1 MiB); a larger single event still goes alone. */
export const MAX_BATCH_BYTES = 512 * 1024;
/** After a 400 or 413 answer to a batch, events go one per POST for this long, ms. */
export const SINGLE_FALLBACK_MS = 5 * 60_000;

/** A batch body of the first events of `docs` within {@link MAX_BATCH_BYTES} (at least one), and how many it holds. */
export function batchBody(instanceId: string, docs: readonly OutboxDoc[], maxBytes = MAX_BATCH_BYTES): { body: string; count: number } {
  const parts: string[] = [];
  let bytes = 0;
  for (const d of docs) {
    const part = JSON.stringify({ id: d._id, event: d.event, createdAt: d.createdAt, payload: d.payload });
    if (parts.length > 0 && bytes + part.length + 1 > maxBytes) break;
    parts.push(part);
    bytes += part.length + 1;
  }
  return { body: `{"instanceId":${JSON.stringify(instanceId)},"events":[${parts.join(',')}]}`, count: parts.length };
}

/**
 * How many of a batch of `count` the api took, from its 2xx answer's body (`{accepted}`); 0 when the answer does not
 * say (then the whole batch is delivered again: the api de-duplicates by event id).
 */
export function acceptedOf(body: string | undefined, count: number): { accepted: number; error: string | null } {
  try {
    const a = JSON.parse(body ?? '') as { accepted?: unknown; error?: { code?: unknown } };
    if (typeof a.accepted !== 'number' || !Number.isInteger(a.accepted) || a.accepted < 0)
      return { accepted: 0, error: 'the answer does not say which events were taken' };
    const code = typeof a.error?.code === 'string' ? a.error.code : null;
    const accepted = Math.min(a.accepted, count);
    return { accepted, error: accepted < count ? `not taken by the api (${code ?? 'no reason given'})` : null };
  } catch {
    return { accepted: 0, error: 'the answer is not JSON' };
  }
}
