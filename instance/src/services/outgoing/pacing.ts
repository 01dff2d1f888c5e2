/**
 * Pacing of the send queue, because bursts get numbers banned: a token bucket per instance (`ratePerS` messages per
 * second on average, up to `burst` back to back after a quiet spell), a random extra delay before each send (0 to
 * `jitterMs`), and a least gap between two sends to the same chat (`chatGapMs`). A small module of our own: the
 * sender picks the next message whose chat is ready from a durable queue, which a generic limiter (bottleneck,
 * p-throttle) does not model. Times are epoch ms, passed in so the rules are testable without waiting.
 */

export interface PacingOptions {
  /** Average messages per second; 0 turns the bucket (and the jitter) off. */
  ratePerS: number;
  /** Bucket size: messages that may go back to back (≥ 1). */
  burst: number;
  /** Random extra delay before each send, 0 to this many ms (only with `ratePerS` > 0). */
  jitterMs: number;
  /** Least time between two sends to one chat, ms; 0 for none. */
  chatGapMs: number;
  /** Random source in [0, 1) (default Math.random). */
  random?: () => number;
}

/** Chats remembered before the ones whose gap has passed are forgotten. */
const CHATS_PRUNE_AT = 1_000;

export class Pacer {
  #tokens: number;
  #refilledAt: number | undefined;
  readonly #chatSentAt = new Map<string, number>();

  constructor(private readonly o: PacingOptions) {
    this.#tokens = Math.max(1, o.burst);
  }

  /** Whether the bucket limits anything. */
  get limited(): boolean {
    return this.o.ratePerS > 0;
  }

  /** ms until the bucket holds a whole token at `now` (0: a send may go now). */
  bucketWaitMs(now: number): number {
    if (!this.limited) return 0;
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.o.ratePerS);
  }

  /** ms until chat `chatId` may get its next message at `now` (0: now). */
  chatWaitMs(chatId: string, now: number): number {
    const last = this.#chatSentAt.get(chatId);
    return last === undefined ? 0 : Math.max(0, last + this.o.chatGapMs - now);
  }

  /** The random extra delay for the next send, ms (0 without a bucket). */
  jitterMs(): number {
    return this.limited && this.o.jitterMs > 0 ? Math.floor((this.o.random ?? Math.random)() * this.o.jitterMs) : 0;
  }

  /** Counts a send to `chatId` at `now`: takes a token and starts the chat's gap. */
  take(chatId: string, now: number): void {
    if (this.limited) {
      this.#refill(now);
      this.#tokens -= 1;
    }
    if (this.o.chatGapMs > 0) {
      this.#chatSentAt.delete(chatId);
      this.#chatSentAt.set(chatId, now);
      if (this.#chatSentAt.size > CHATS_PRUNE_AT) {
        for (const [id, at] of this.#chatSentAt) if (at + this.o.chatGapMs <= now) this.#chatSentAt.delete(id);
      }
    }
  }

  #refill(now: number): void {
    if (this.#refilledAt !== undefined) {
      this.#tokens = Math.min(this.o.burst, this.#tokens + ((now - this.#refilledAt) * this.o.ratePerS) / 1000);
    }
    this.#refilledAt = now;
  }
}
