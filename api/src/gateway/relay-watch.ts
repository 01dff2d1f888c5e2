/**
 * Revocation for the gateway's event relays opened with a tenant's access token (JWT): every `intervalMs` (5 s by
 * default) each distinct token behind an open relay is verified again (one session read per token, however many
 * relays it has), and its relays are closed with code 4401 once it no longer verifies — its session was logged out
 * (on any api replica: the session record is shared) or the account is gone. Expiry needs no read: each token's relays
 * are also closed by a timer at its `exp`. A relay may also carry a check of what it needs beyond a valid token (a
 * member's right to read its instance): once that fails on a re-check, the relay is closed with 4403. Relays opened with an instance token need none of this: the instance closes
 * its own stream when that token is deleted or re-scoped, and the gateway passes the close on.
 */
import type { Logger } from 'pino';
import { decodeJwt } from 'jose';
import { HttpError } from '@wacloud/kit';

/** Closes one relay with a WebSocket close code (4401) and reason. */
export type CloseRelay = (code: number, reason: string) => void;

/** Verifies an access token: resolves when it is still valid, rejects (an HttpError 401) when not. */
export type VerifyAccessToken = (token: string) => Promise<unknown>;

/**
 * Whether a relay may stay open given what its token verified to (e.g. the member still reads the instance);
 * false closes it with 4403.
 */
export type RelayAllowed = (verified: unknown) => boolean;

interface Watched {
  relays: Set<CloseRelay>;
  /** Per relay, the check of what it needs beyond a valid token (a member's right on its instance). */
  allowed: Map<CloseRelay, RelayAllowed>;
  expiry?: NodeJS.Timeout;
}

/** Largest delay a Node timer accepts, ms; later expiries are caught by the periodic re-check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RelayWatch {
  readonly #byToken = new Map<string, Watched>();
  readonly #timer: NodeJS.Timeout;
  #checking = false;

  /**
   * @param verify the accounts' token verification (signature, expiry, live session).
   * @param o.intervalMs how often open relays' tokens are re-checked, ms (default 5,000).
   */
  constructor(
    private readonly verify: VerifyAccessToken,
    private readonly o: { intervalMs?: number; logger?: Logger } = {},
  ) {
    this.#timer = setInterval(() => void this.check(), o.intervalMs ?? 5_000);
    this.#timer.unref();
  }

  /** Number of distinct access tokens with open relays. */
  get size(): number {
    return this.#byToken.size;
  }

  /**
   * Watches a relay opened with access token `token` (or any key the `verify` function knows, e.g. a session of a
   * WebSocket ticket); it expires at `expiresAtMs` (epoch ms; default: the token's `exp`); `allowed` says whether it may
   * stay open given what the key verifies to. Returns the function to call when the relay closes.
   */
  add(token: string, close: CloseRelay, expiresAtMs?: number, allowed?: RelayAllowed): () => void {
    let w = this.#byToken.get(token);
    if (!w) {
      w = { relays: new Set(), allowed: new Map() };
      this.#byToken.set(token, w);
      const exp = expiresAtMs ?? expiryMs(token);
      if (exp !== undefined) {
        const delay = Math.max(0, exp - Date.now());
        if (delay <= MAX_TIMER_MS) {
          w.expiry = setTimeout(() => this.revoke(token, 'access token expired; log in again'), delay);
          w.expiry.unref();
        }
      }
    }
    w.relays.add(close);
    if (allowed) w.allowed.set(close, allowed);
    return () => {
      const cur = this.#byToken.get(token);
      if (!cur) return;
      cur.relays.delete(close);
      cur.allowed.delete(close);
      if (cur.relays.size === 0) this.forget(token);
    };
  }

  /** Re-checks every watched token once now; closes the relays of those that no longer verify. */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      await Promise.all(
        [...this.#byToken.keys()].map(async (token) => {
          try {
            const verified = await this.verify(token);
            const w = this.#byToken.get(token);
            for (const [close, allowed] of w?.allowed ?? []) {
              if (allowed(verified)) continue;
              w!.relays.delete(close);
              w!.allowed.delete(close);
              close(4403, 'no longer allowed to read this instance');
            }
          } catch (err) {
            // Only a definite refusal closes relays; a database hiccup is retried on the next round.
            if (err instanceof HttpError && err.status === 401) this.revoke(token, 'access token revoked (logged out) or expired');
            else this.o.logger?.warn({ err }, 'gateway relay re-check failed; retrying on the next round');
          }
        }),
      );
    } finally {
      this.#checking = false;
    }
  }

  /** Stops the periodic re-check and the expiry timers (relays are left to their owner). */
  stop(): void {
    clearInterval(this.#timer);
    for (const token of [...this.#byToken.keys()]) this.forget(token);
  }

  private revoke(token: string, reason: string): void {
    const w = this.#byToken.get(token);
    if (!w) return;
    this.forget(token);
    for (const close of w.relays) close(4401, reason);
  }

  private forget(token: string): void {
    const w = this.#byToken.get(token);
    if (w?.expiry) clearTimeout(w.expiry);
    this.#byToken.delete(token);
  }
}

/** The token's `exp` in epoch ms, or undefined when it has none or is not a JWT (it was verified before this). */
function expiryMs(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
