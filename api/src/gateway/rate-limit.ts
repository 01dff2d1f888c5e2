/**
 * The gateway's rate limits, shared by every api replica through the database: at most `limit` requests of one key
 * (a client address, a tenant) per fixed window of `windowMs`.
 *
 * Counting every request in the database would make each gateway request a database write; instead a replica leases
 * slots of the window — one slot stands for `lease` requests (`limit / 20`, at least 1) — with the atomic unique
 * inserts of the login throttle's {@link Throttle.claim} (the one write FerretDB v1 and MongoDB both make atomic), and
 * counts the requests of its leased slots in memory. All replicas together never admit more than `limit` per window.
 * Once a key's window is used up, this replica refuses further requests of that key from memory until the window ends:
 * a flood past the limit costs no database work. Leases expire with their window (`expiresAt`; swept with the
 * throttle points).
 *
 * Leases are taken ahead, so that a busy key's requests do not wait for the database: once half a lease is left, the
 * next slot is leased in the background; and a request in the last tenth of its window (at most its last 5 s) leases
 * the next window's first slot. Requests wait only when a key has nothing left (a burst faster than a lease, a key's
 * first request). Without it, every request in flight waited for the insert of the key's next lease — under load
 * queued behind other queries (issue 18's gateway tail, BENCHMARKS.md). The price: a replica may leave up to one and a
 * half leases of a window unused (the rest of its last slot, and one slot leased ahead). So nothing is leased ahead
 * while a lease stands for one request (`limit` < 40): there a slot leased ahead and never used would be a whole
 * request of a small budget refused early, and replicas racing for the window's last slots would split it by chance.
 *
 * A database failure admits the request (the limit is a protection, not an authority) and is logged.
 */
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Throttle } from '../login-throttle.js';

/** `limit` requests per window of `windowMs` milliseconds. */
export interface RateRule {
  limit: number;
  windowMs: number;
}

interface KeyState {
  /** Window index (epoch ms / windowMs). */
  window: number;
  /** Requests left in this replica's leased slots. */
  left: number;
  /** Next slot number to try. */
  next: number;
  /** Every slot of the window is taken. */
  full: boolean;
  pending?: Promise<void> | undefined;
  /** The next window's state, its first slot leased ahead near this window's end. */
  ahead?: KeyState | undefined;
}

/** How long before its window's end a request leases the next window's first slot: a tenth of the window, ≤ 5 s. */
function aheadMs(rule: RateRule): number {
  return Math.min(rule.windowMs / 10, 5_000);
}

/** Requests one leased slot stands for. */
export function leaseSize(limit: number): number {
  return Math.max(1, Math.floor(limit / 20));
}

export class RateLimiter {
  private readonly state = new Map<string, KeyState>();
  private readonly maxKeys: number;

  /**
   * @param throttle the shared slot store (the `throttle` collection).
   * @param o.maxKeys keys whose state is kept in memory (oldest dropped first; a dropped key re-reads its count). Default 50,000.
   */
  constructor(
    private readonly throttle: Throttle,
    private readonly o: { maxKeys?: number; logger?: Logger } = {},
  ) {
    this.maxKeys = o.maxKeys ?? 50_000;
  }

  /**
   * Counts one request of `key` under `rule`.
   * @throws AppError `rate_limited` (429, details.retryAfterS: whole seconds ≥ 1 until the window ends) when the key's
   *   window is used up.
   */
  async consume(key: string, rule: RateRule): Promise<void> {
    for (;;) {
      const now = Date.now();
      const w = Math.floor(now / rule.windowMs);
      let st = this.state.get(key);
      if (!st || st.window !== w) {
        st = st?.ahead?.window === w ? st.ahead : { window: w, left: 0, next: 0, full: false };
        st.ahead = undefined;
        this.state.delete(key);
        this.state.set(key, st);
        while (this.state.size > this.maxKeys) this.state.delete(this.state.keys().next().value!);
      }
      if (st.left > 0) {
        st.left--;
        this.leaseAhead(key, st, rule, now);
        return;
      }
      if (st.full) {
        const retryAfterS = Math.max(1, Math.ceil(((w + 1) * rule.windowMs - now) / 1000));
        throw new AppError('rate_limited', `Too many requests; try again in ${retryAfterS} s.`, { retryAfterS });
      }
      await this.startLease(key, st, rule);
    }
  }

  /** The lease under way for `st`, or a new one. */
  private startLease(key: string, st: KeyState, rule: RateRule): Promise<void> {
    st.pending ??= this.lease(key, st, rule).finally(() => (st.pending = undefined));
    return st.pending;
  }

  /**
   * Leases in the background what `key` will need next (see the file's docstring): its window's next slot once half a
   * lease is left, the next window's first slot once its window ends within {@link aheadMs}; nothing while a lease is
   * one request.
   */
  private leaseAhead(key: string, st: KeyState, rule: RateRule, now: number): void {
    if (leaseSize(rule.limit) < 2) return;
    if (!st.full && !st.pending && st.left <= leaseSize(rule.limit) / 2) void this.startLease(key, st, rule);
    if (!st.ahead && (st.window + 1) * rule.windowMs - now <= aheadMs(rule)) {
      st.ahead = { window: st.window + 1, left: 0, next: 0, full: false };
      void this.startLease(key, st.ahead, rule);
    }
  }

  /** Leases the next free slot of the key's window into `st` (or marks it full). */
  private async lease(key: string, st: KeyState, rule: RateRule): Promise<void> {
    const size = leaseSize(rule.limit);
    const slots = Math.ceil(rule.limit / size);
    const k = `rate:${key}@${st.window}`;
    const expiresAt = new Date((st.window + 1) * rule.windowMs);
    try {
      while (st.next < slots) {
        const seq = st.next;
        if (await this.throttle.claim(k, seq, expiresAt)) {
          st.next = seq + 1;
          st.left += Math.min(size, rule.limit - seq * size);
          return;
        }
        // Taken by another replica (or before a restart): skip to the first slot nobody may have taken yet.
        st.next = Math.max(seq + 1, await this.throttle.count(k));
      }
      st.full = true;
    } catch (err) {
      this.o.logger?.warn({ err }, 'gateway rate limit store unavailable; admitting the request');
      st.left += 1;
    }
  }
}
