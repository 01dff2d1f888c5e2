/**
 * One instance's message counts for the statistics, read from the instance itself (the system of record) through
 * its internal API (`GET /internal/v1/stats?days=N`): its session state, messages in / out per UTC day, and the chats
 * active in the window. An instance that is stopped, suspended, not ready, unreachable, slow (over
 * {@link COUNTS_TIMEOUT_MS}) or answering anything else than its counts is `unavailable` — never an error.
 */
import { errorBrief } from '@wacloud/kit';
import type { Logger } from 'pino';
import type { InstanceEndpoints } from '../providers/index.js';
import type { InstanceDoc } from '../store.js';

/** Longest wait for one instance's counts, ms. */
export const COUNTS_TIMEOUT_MS = 5_000;

/** What an instance answered. */
export interface InstanceCounts {
  /** Its WhatsApp session's state (`WORKING`, `SCAN_QR_CODE`, …). */
  state: string;
  /** Per UTC day (`YYYY-MM-DD`). */
  days: Array<{ date: string; in: number; out: number }>;
  /** Chats with a message in the window. */
  chats: number;
}

function isCounts(v: unknown): v is InstanceCounts {
  const c = v as Partial<InstanceCounts> | null;
  return (
    typeof c?.state === 'string' &&
    typeof c.chats === 'number' &&
    Array.isArray(c.days) &&
    c.days.every((d) => typeof d?.date === 'string' && typeof d.in === 'number' && typeof d.out === 'number')
  );
}

/**
 * The counts of instance `d` for `days` days, or null when it is unavailable (the reason is logged at debug or warn).
 * @param endpoints the provider's endpoints of an instance, without waiting for a starting one.
 */
export async function instanceCounts(
  d: InstanceDoc,
  days: number,
  endpoints: (id: string) => Promise<InstanceEndpoints>,
  log: Logger,
): Promise<InstanceCounts | null> {
  if (d.suspended || d.stopped) return null;
  try {
    const ep = await endpoints(d._id);
    const res = await fetch(`${ep.internalUrl}/internal/v1/stats?days=${days}`, {
      headers: { authorization: `Bearer ${ep.internalKey}` },
      signal: AbortSignal.timeout(COUNTS_TIMEOUT_MS),
    });
    const body: unknown = await res.json().catch(() => undefined);
    if (res.status === 200 && isCounts(body)) return body;
    log.warn({ instance: d._id, status: res.status }, 'instance statistics: unexpected answer');
  } catch (err) {
    log.debug({ instance: d._id, error: errorBrief(err) }, 'instance statistics unavailable');
  }
  return null;
}
