/**
 * Login and registration throttling, shared by every api replica through the database.
 *
 * Every attempt takes a point BEFORE the password is verified (so N parallel guesses cannot all pass a check made
 * before any of them is counted); a successful login gives its points back. Points are documents of the `throttle`
 * collection with unique `_id`s `<key>#<n>`: taking point n is an atomic unique insert — the one write FerretDB v1
 * (the test server) and MongoDB both make atomic — so two replicas never take the same point. rate-limiter-flexible's
 * RateLimiterMongo is not used: it counts with `findOneAndUpdate` + `$inc` upserts, which FerretDB v1 does not run
 * atomically under concurrency, and it relies on a TTL index, which FerretDB v1 lacks; here expired points are
 * removed by the next attempt on the same key. Measured against the FerretDB v1 test server: its TTL index is refused,
 * so RateLimiterMongo never creates its unique key index either, and 20 parallel consumes of a 5-point limit were all
 * granted; with that unique index created by hand, 5 to 19 of 20 were still granted.
 *
 * Keys and rules (each point lives `windowS` seconds after it was taken):
 * - `login:pair:<email>|<address>`: `freePerPair` attempts, then a progressive delay — the k-th attempt beyond them
 *   must come at least `baseDelayS · 2^k` seconds (at most `maxDelayS`) after the previous one. An attacker at one
 *   address slows down only their own guesses at that account; the owner elsewhere is unaffected.
 * - `login:email:<email>`: a looser bound per account over all addresses, `maxPerAccount` attempts in the window,
 *   with the same progressive delay beyond it (a distributed attacker slows the account, never locks it for the window).
 * - `login:address:<address>`: `maxPerAddress` attempts in the window (hard: wait until the oldest point expires).
 * - `register:address:<address>`: `registerMaxPerAddress` registrations in `registerWindowS` (hard, never refunded).
 * Past a rule the attempt is refused with AppError `too_many_attempts` (429, details.retryAfterS: whole seconds ≥ 1).
 */
import { AppError } from './errors.js';
import { isDuplicateKey, type ApiStore } from './store.js';

/** One throttle rule: `free` points in `windowMs`; beyond, a delay `baseDelayMs · 2^(n - free)` (0: hard limit). */
interface Rule {
  free: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A taken point: pass to {@link Throttle.refund} to give it back. */
export interface Point {
  id: string;
}

export interface ThrottleOptions {
  /** Attempts per (email, address) before the progressive delay starts. Default 5. */
  freePerPair?: number;
  /** Attempts per email over all addresses in the window before the delay starts. Default 50. */
  maxPerAccount?: number;
  /** Attempts per address over all accounts in the window (hard). Default 100. */
  maxPerAddress?: number;
  /** Lifetime of a point, seconds. Default 900. */
  windowS?: number;
  /** First delay beyond the free attempts, seconds; doubles with each further attempt. Default 1. */
  baseDelayS?: number;
  /** Largest delay, seconds. Default 300. */
  maxDelayS?: number;
  /** Registrations per address in `registerWindowS` (hard). Default 20. */
  registerMaxPerAddress?: number;
  /** Default 3600. */
  registerWindowS?: number;
}

/** Counters on atomic unique inserts (see the module comment). */
export class Throttle {
  constructor(private readonly store: ApiStore) {}

  /**
   * Takes a point of `key` under `rule`.
   * @returns the point, or `{ retryAfterMs }` (> 0) when the rule refuses it now.
   */
  async take(key: string, rule: Rule): Promise<Point | { retryAfterMs: number }> {
    const col = this.store.throttle;
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = Date.now();
      await col.deleteMany({ key, expiresAt: { $lte: new Date(now) } });
      const live = await col.find({ key, expiresAt: { $gt: new Date(now) } }).toArray();
      const n = live.length;
      if (n >= rule.free) {
        let readyAt: number;
        if (rule.baseDelayMs <= 0) readyAt = Math.min(...live.map((p) => p.expiresAt.getTime()));
        else {
          const delay = Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(n - rule.free, 30));
          readyAt = Math.max(...live.map((p) => p.takenAt.getTime())) + delay;
        }
        if (readyAt > now) return { retryAfterMs: readyAt - now };
      }
      const seq = live.reduce((m, p) => Math.max(m, p.seq), -1) + 1;
      const id = `${key}#${seq}`;
      try {
        await col.insertOne({ _id: id, key, seq, takenAt: new Date(now), expiresAt: new Date(now + rule.windowMs) });
        return { id };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        // Another attempt (here or in another replica) took point `seq` first: look again.
      }
    }
    return { retryAfterMs: 1000 };
  }

  /** Gives a point back. */
  async refund(p: Point): Promise<void> {
    await this.store.throttle.deleteOne({ _id: p.id });
  }

  /** Forgets every point of `key`. */
  async reset(key: string): Promise<void> {
    await this.store.throttle.deleteMany({ key });
  }

  /**
   * Claims slot `seq` of `key` until `expiresAt` (one atomic unique insert; for counters that hand out numbered
   * slots, e.g. the gateway's rate limits).
   * @returns true when this call took the slot, false when it was already taken (here or by another replica).
   */
  async claim(key: string, seq: number, expiresAt: Date): Promise<boolean> {
    try {
      await this.store.throttle.insertOne({ _id: `${key}#${seq}`, key, seq, takenAt: new Date(), expiresAt });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /** Number of slots of `key` taken so far (live or not yet swept). */
  async count(key: string): Promise<number> {
    return this.store.throttle.countDocuments({ key });
  }

  /**
   * Removes every expired point of every key (keys never used again are not cleaned by {@link take}).
   * @returns how many were removed.
   */
  async sweep(now = new Date()): Promise<number> {
    return (await this.store.throttle.deleteMany({ expiresAt: { $lte: now } })).deletedCount;
  }
}

/** Login and registration throttling (see the module comment). */
export class LoginThrottle {
  private readonly t: Throttle;
  private readonly pair: Rule;
  private readonly account: Rule;
  private readonly address: Rule;
  private readonly registerRule: Rule;

  constructor(store: ApiStore, o: ThrottleOptions = {}) {
    this.t = new Throttle(store);
    const windowMs = (o.windowS ?? 900) * 1000;
    const baseDelayMs = (o.baseDelayS ?? 1) * 1000;
    const maxDelayMs = (o.maxDelayS ?? 300) * 1000;
    this.pair = { free: o.freePerPair ?? 5, windowMs, baseDelayMs, maxDelayMs };
    this.account = { free: o.maxPerAccount ?? 50, windowMs, baseDelayMs, maxDelayMs };
    this.address = { free: o.maxPerAddress ?? 100, windowMs, baseDelayMs: 0, maxDelayMs: 0 };
    this.registerRule = {
      free: o.registerMaxPerAddress ?? 20,
      windowMs: (o.registerWindowS ?? 3600) * 1000,
      baseDelayMs: 0,
      maxDelayMs: 0,
    };
  }

  /**
   * Runs one login attempt: takes a point of each login rule, then `verify` (the password check). A successful
   * attempt (`verify` returns a value) resets its (email, address) counter and refunds its other points; a failed one
   * (undefined or a throw) keeps them.
   * @throws AppError `too_many_attempts` (details.retryAfterS) before `verify` runs when a rule refuses the attempt.
   */
  async attempt<T>(email: string, address: string, verify: () => Promise<T | undefined>): Promise<T | undefined> {
    const e = email.trim().toLowerCase();
    const pairKey = `login:pair:${e}|${address}`;
    const points = await this.takeAll([
      [pairKey, this.pair],
      [`login:email:${e}`, this.account],
      [`login:address:${address}`, this.address],
    ]);
    const result = await verify();
    if (result !== undefined) await Promise.all([this.t.reset(pairKey), ...points.slice(1).map((p) => this.t.refund(p))]);
    return result;
  }

  /**
   * Takes a registration point of `address` (not refunded: every registration counts).
   * @throws AppError `too_many_attempts` (details.retryAfterS) when the address registered too often.
   */
  async register(address: string): Promise<void> {
    await this.takeAll([[`register:address:${address}`, this.registerRule]]);
  }

  /** Takes a point of each rule in order; on a refusal gives the earlier ones back and throws. */
  private async takeAll(rules: Array<[string, Rule]>): Promise<Point[]> {
    const taken: Point[] = [];
    for (const [key, rule] of rules) {
      const r = await this.t.take(key, rule);
      if ('id' in r) {
        taken.push(r);
        continue;
      }
      await Promise.all(taken.map((p) => this.t.refund(p)));
      const retryAfterS = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new AppError('too_many_attempts', `Too many attempts; try again in ${retryAfterS} s.`, { retryAfterS });
    }
    return taken;
  }
}
