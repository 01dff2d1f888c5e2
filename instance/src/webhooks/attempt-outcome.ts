/**
 * What a webhook delivery attempt comes to (`dispatcher.ts`): delivered, retried after a backoff, or failed for good
 * (kept as a dead letter); the error recorded of it; the wait before the next. Pure functions of the receiver's answer.
 */
import type { PostResult } from './post.js';

/** Outcome of one attempt, for tests and logs. */
export type AttemptResult = 'delivered' | 'retry' | 'failed';

/** The error to record of an answer: the transport's, or a redirect not followed. */
export function errorOf(r: PostResult): string | null {
  if (r.status !== null && r.status >= 300 && r.status < 400)
    return `redirect not followed (${r.status}${r.location ? ` to ${r.location.slice(0, 200)}` : ''})`;
  return r.error;
}

/**
 * The receiver (or the guard) refused the attempt: an answer {@link classify} takes as final whatever the attempt (a 3xx,
 * a 4xx other than 408 and 429), or a refused address.
 */
export function isRefusal(r: PostResult): boolean {
  return r.refused || classify(r.status, 1, Number.POSITIVE_INFINITY) === 'failed';
}

/** Delivery outcome for an HTTP status (null: no answer). 2xx delivered; 3xx (not followed) and 4xx final except 408/429. */
export function classify(status: number | null, attempt: number, maxAttempts: number): AttemptResult {
  if (status !== null && status >= 200 && status < 300) return 'delivered';
  const retryable = status === null || status >= 500 || status === 408 || status === 429;
  if (!retryable) return 'failed';
  return attempt >= maxAttempts ? 'failed' : 'retry';
}

/** Backoff before attempt `attempt + 1`, ms: exponential with jitter, bounded by `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A `Retry-After` value (seconds, or an HTTP date) as a wait in ms, at most an hour; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.min(s * 1000, 3_600_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
