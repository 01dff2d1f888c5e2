/**
 * The gateway's rate limits, shared by every api replica through the database: at most `limit` requests of one key
 * (a client address, a tenant) per fixed window of `windowMs`.
 *
 * Counting every request in the database would make each gateway request a database write; instead a replica leases
 * slots of the window — one slot stands for `lease` requests (`limit / 20`, at least 1) — with the atomic unique
 * inserts of the login throttle's {@link Throttle.claim} (the one write FerretDB v1 and MongoDB both make atomic), and
 * counts the requests of its leased slots in memory. All replicas together never admit more than `limit` per window;
 * a replica may leave up to one lease unused. Once a key's window is used up, this replica refuses further requests of
 * that key from memory until the window ends: a flood past the limit costs no database work. Leases expire with their
 * window (`expiresAt`; swept with the throttle points).
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
        st = { window: w, left: 0, next: 0, full: false };
        this.state.delete(key);
        this.state.set(key, st);
        while (this.state.size > this.maxKeys) this.state.delete(this.state.keys().next().value!);
      }
      if (st.left > 0) {
        st.left--;
        return;
      }
      if (st.full) {
        const retryAfterS = Math.max(1, Math.ceil(((w + 1) * rule.windowMs - now) / 1000));
        throw new AppError('rate_limited', `Too many requests; try again in ${retryAfterS} s.`, { retryAfterS });
      }
      if (!st.pending) {
        const s = st;
        s.pending = this.lease(key, s, rule).finally(() => (s.pending = undefined));
      }
      await st.pending;
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
