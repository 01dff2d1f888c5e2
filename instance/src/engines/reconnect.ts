/**
 * The reconnect policy both engines share: after a connection loss, a browser crash or a failed start the engine
 * tries again after an exponential backoff with jitter (1 s, 2 s, 4 s, … capped at 5 min by default), keeping the
 * stored session, until the session is WORKING again or the retry budget (attempts in a row, time since the first
 * failure) is spent — then the session is FAILED and `/health/live` fails so a supervisor restarts the instance.
 *
 * A small stateful helper, not a base class: the engine reports failures and successes, the helper owns the timer.
 */
import type { ReconnectStatus } from './engine.js';

/** The retry budget and backoff. */
export interface ReconnectPolicy {
  /** Delay before the first retry, ms; doubles per failed attempt. */
  initialDelayMs: number;
  /** Cap of a retry delay, ms. */
  maxDelayMs: number;
  /** Retries in a row before giving up (0: FAILED at the first failure). */
  maxAttempts: number;
  /** Longest a streak of failures may last (from its first failure to the start of a retry), ms. */
  maxElapsedMs: number;
}

/** 1 s → 5 min, 20 retries in a row (about 1 h), at most 1 h. */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAttempts: 20,
  maxElapsedMs: 3_600_000,
};

/**
 * The delay before retry `attempt` (1-based), ms: `initialDelayMs · 2^(attempt-1)` capped at `maxDelayMs`, of which
 * the upper half is random ("equal jitter": never less than half the step, so instances that lost the same network
 * do not come back in lock-step). `random` returns [0, 1).
 */
export function backoffDelayMs(policy: ReconnectPolicy, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

/** What {@link Reconnector.failed} decided. */
export type RetryDecision = { attempt: number; delayMs: number } | undefined;

/** One engine's streak of failures, its pending retry and whether its budget is spent. */
export class Reconnector {
  #attempts = 0;
  #since: number | undefined;
  #retryAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #exhausted = false;
  #lastReason: string | undefined;

  constructor(
    readonly policy: ReconnectPolicy,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A connection or start failed with `reason`: schedules `retry` after the next backoff delay and returns the attempt
   * number and the delay (ms), or returns undefined — nothing scheduled — when the budget is spent (then
   * {@link status} says `exhausted` until {@link reset}). A retry still pending is replaced.
   */
  failed(reason: string, retry: () => void): RetryDecision {
    this.cancel();
    const now = this.now();
    this.#since ??= now;
    this.#lastReason = reason;
    const attempt = this.#attempts + 1;
    const delayMs = backoffDelayMs(this.policy, attempt, this.random);
    if (attempt > this.policy.maxAttempts || now + delayMs - this.#since > this.policy.maxElapsedMs) {
      this.#exhausted = true;
      return undefined;
    }
    this.#attempts = attempt;
    this.#retryAt = now + delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#retryAt = undefined;
      retry();
    }, delayMs);
    this.#timer.unref();
    return { attempt, delayMs };
  }

  /** The session is WORKING again: the streak is over. */
  succeeded(): void {
    this.reset();
  }

  /** Cancels a pending retry, keeping the streak (a start under way replaces it). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#retryAt = undefined;
  }

  /** Cancels a pending retry and forgets the streak and the spent budget (stop, logout, a new start by a person). */
  reset(): void {
    this.cancel();
    this.#attempts = 0;
    this.#since = undefined;
    this.#exhausted = false;
    this.#lastReason = undefined;
  }

  /** Whether a retry is scheduled. */
  pending(): boolean {
    return this.#timer !== undefined;
  }

  /** The streak, or undefined when there is none. */
  status(): ReconnectStatus | undefined {
    if (this.#since === undefined) return undefined;
    return {
      attempt: this.#attempts,
      maxAttempts: this.policy.maxAttempts,
      ...(this.#retryAt === undefined ? {} : { retryAt: this.#retryAt }),
      exhausted: this.#exhausted,
      ...(this.#lastReason === undefined ? {} : { lastReason: this.#lastReason }),
    };
  }
}
