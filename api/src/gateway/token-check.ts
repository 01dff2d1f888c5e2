/**
 * The gateway's check of instance tokens (`wai_…`) before anything is forwarded: the instance's internal API
 * `POST /internal/v1/tokens/verify` judges the token, and the verdict is cached per instance and token hash — a valid
 * token for a short while (so that a deleted token stops opening the gateway soon), an invalid one longer (so that
 * guessing does not cost the instance a database read per request). Both caches are bounded; the oldest entry goes
 * first.
 *
 * Under load the check never stalls the requests of a busy token: concurrent checks of one token share one call, and a
 * valid verdict past half its time is renewed in the background while it still answers (so a token in steady use is
 * never re-checked in the requests' path, and a verdict is still never older than its time: a deleted token is refused
 * within `validTtlMs`). Without this, every `validTtlMs` all the requests in flight waited for the instance — itself
 * busy answering them — to confirm the token, which made the gateway's slowest requests several times the instance's.
 */
import { SingleFlight, errorBrief } from '@wacloud/kit';
import { hash } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { InstanceEndpoints } from '../providers/index.js';

export type Permission = 'r' | 'w' | 'rw';

export interface TokenCheckOptions {
  /** How long a valid verdict is reused, ms. */
  validTtlMs?: number;
  /** How long an invalid verdict is reused, ms. */
  invalidTtlMs?: number;
  /** Most verdicts kept per kind (valid / invalid). */
  maxEntries?: number;
  /** Timeout of one verify call, ms. */
  timeoutMs?: number;
  logger?: Logger;
  /** The clock verdicts are timed by, epoch ms (default `Date.now`; tests drive their own). */
  now?: () => number;
}

interface Verdict {
  permissions: Permission | undefined;
  expiresAt: number;
  /** From then on (epoch ms) a use renews the verdict in the background (valid verdicts only). */
  renewAt?: number;
}

/** Cache with a size bound: a Map in insertion order, the oldest entry evicted first. */
class BoundedCache {
  private readonly map = new Map<string, Verdict>();
  constructor(private readonly max: number) {}
  get(key: string, now: number): Verdict | undefined {
    const v = this.map.get(key);
    if (v && v.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    return v;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  set(key: string, v: Verdict): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  get size(): number {
    return this.map.size;
  }
}

export class TokenCheck {
  private readonly valid: BoundedCache;
  private readonly invalid: BoundedCache;
  private readonly validTtlMs: number;
  private readonly invalidTtlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  /** Calls to the instance under way, by cache key: concurrent checks of one token share one. */
  private readonly asking = new SingleFlight<string, Permission | undefined>();

  constructor(private readonly o: TokenCheckOptions = {}) {
    this.validTtlMs = o.validTtlMs ?? 10_000;
    this.invalidTtlMs = o.invalidTtlMs ?? 30_000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.now = o.now ?? Date.now;
    this.valid = new BoundedCache(o.maxEntries ?? 10_000);
    this.invalid = new BoundedCache(o.maxEntries ?? 10_000);
  }

  /**
   * The permissions of `token` on instance `id`, from the cache or the instance.
   * @returns the permissions, or undefined when the instance does not know the token.
   * @throws AppError `instance_unavailable` when the instance cannot be reached, `upstream_error` when it answers
   *   anything but a verdict (an instance too old to have the verify endpoint counts as this: the gateway fails closed).
   */
  async permissions(id: string, ep: InstanceEndpoints, token: string): Promise<Permission | undefined> {
    // One-shot `hash` (no Hash object: a tenth of the CPU of createHash/update/digest in the gateway's profile).
    const key = `${id}:${hash('sha256', token, 'base64url')}`;
    const now = this.now();
    const cached = this.valid.get(key, now) ?? this.invalid.get(key, now);
    if (cached) {
      if (cached.renewAt !== undefined && now >= cached.renewAt && !this.asking.has(key))
        this.verify(key, ep, token).catch(() => undefined); // an unanswered renewal leaves the verdict to expire
      return cached.permissions;
    }
    return this.verify(key, ep, token);
  }

  /** Asks the instance about `token` (one call per key at a time, joined when under way) and caches the verdict under `key`. */
  private verify(key: string, ep: InstanceEndpoints, token: string): Promise<Permission | undefined> {
    return this.asking.run(key, () =>
      this.ask(ep, token).then((permissions) => {
        const at = this.now();
        if (permissions) {
          this.invalid.delete(key);
          this.valid.set(key, { permissions, expiresAt: at + this.validTtlMs, renewAt: at + this.validTtlMs / 2 });
        } else {
          this.valid.delete(key); // refused now: no longer valid, even if a verdict had time left
          this.invalid.set(key, { permissions: undefined, expiresAt: at + this.invalidTtlMs });
        }
        return permissions;
      }),
    );
  }

  /** Entries held (valid, invalid); for tests of the bound. */
  sizes(): { valid: number; invalid: number } {
    return { valid: this.valid.size, invalid: this.invalid.size };
  }

  private async ask(ep: InstanceEndpoints, token: string): Promise<Permission | undefined> {
    let res: Response;
    let body: { valid?: unknown; permissions?: unknown };
    try {
      res = await fetch(`${ep.internalUrl}/internal/v1/tokens/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ep.internalKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = res.status === 200 ? ((await res.json()) as typeof body) : (await res.body?.cancel(), {});
    } catch (err) {
      this.o.logger?.warn({ error: errorBrief(err) }, "the instance's token check did not answer");
      throw new AppError('instance_unavailable', 'The instance did not answer; retry shortly.');
    }
    // A token the instance's body schema refuses (too long, empty) is simply not a token.
    if (res.status === 400) return undefined;
    if (res.status !== 200 || typeof body.valid !== 'boolean') {
      this.o.logger?.warn({ status: res.status }, "the instance's token check answered no verdict");
      throw new AppError('upstream_error', 'The instance could not check the token; retry shortly.');
    }
    const p = body.permissions;
    return body.valid && (p === 'r' || p === 'w' || p === 'rw') ? p : undefined;
  }
}
