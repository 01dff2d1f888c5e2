/**
 * Gap fill after every (re)connect: when the session becomes WORKING, the chats with stored messages lately are asked
 * for their history newer than their newest stored message ({@link Engine.messagesSince}), and what the database does
 * not have is recorded like a live message (journal, storage, live event, webhooks). This brings back messages the
 * device received but the instance never stored — lost before the journal (a deleted or damaged journal, a message the
 * library confirmed on its own) — within the bounds: at most `chats` chats active within `activeMs`, at most
 * `perChat` messages each (a larger gap is filled for its newest part, with a warning).
 */
import type { Logger } from 'pino';
import { EngineError, EngineNotReadyError, type Engine, type EngineMessage } from '../engines/engine.js';
import type { Metrics } from '../metrics.js';
import { activeChats, storedMessageIds } from '../storage/active-chats.js';
import type { Store } from '../storage/store.js';
import type { EventRecorder } from './event-recorder.js';

/** Messages asked for in a chat's first history fetch. */
const FIRST_FETCH = 20;

export interface GapFillOptions {
  engine: Engine;
  store: Store;
  recorder: EventRecorder;
  metrics: Metrics;
  logger: Logger;
  /** Messages fetched per chat at most; 0 disables the gap fill. */
  perChat: number;
  /** Chats looked at per run at most. */
  chats: number;
  /** A chat is active when it has a stored message at most this old, ms. */
  activeMs: number;
}

/** What one run did. */
export interface GapFillResult {
  /** Chats asked for their history. */
  chats: number;
  /** Messages the engine returned. */
  fetched: number;
  /** Messages recorded because the database did not have them. */
  recorded: number;
}

export class GapFiller {
  #running: Promise<GapFillResult> | undefined;
  #again = false;

  constructor(private readonly opts: GapFillOptions) {
    if (opts.perChat > 0) {
      opts.engine.on('state', (state) => {
        if (state === 'WORKING') this.trigger();
      });
    }
  }

  /** Starts a run (or one more after the run under way); never throws (failures are logged). */
  trigger(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.run()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err }, 'gap fill failed; the next reconnect tries again');
        return { chats: 0, fetched: 0, recorded: 0 };
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.trigger();
        }
      });
  }

  /** Resolves once no run is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /**
   * One gap fill over the active chats. A chat the engine cannot serve (`chat_not_found`) is skipped; the run stops
   * when the session stops being WORKING.
   * @throws the driver's error when the database is unreachable.
   */
  async run(): Promise<GapFillResult> {
    const { engine, store, recorder, logger, perChat } = this.opts;
    const result: GapFillResult = { chats: 0, fetched: 0, recorded: 0 };
    if (perChat <= 0 || engine.state() !== 'WORKING') return result;
    const chats = await activeChats(store, new Date(Date.now() - this.opts.activeMs), this.opts.chats);
    for (const chat of chats) {
      let messages;
      try {
        messages = await this.#fetch(chat.chatId, chat.lastTimestamp.getTime());
      } catch (err) {
        if (err instanceof EngineNotReadyError) break;
        if (err instanceof EngineError && err.code === 'chat_not_found') continue;
        throw err;
      }
      result.chats++;
      result.fetched += messages.length;
      if (messages.length >= perChat) {
        logger.warn({ chatId: chat.chatId, perChat }, 'gap fill: the chat has more new messages than the bound; the oldest may be missing');
      }
      const fresh = messages.filter((m) => !recorder.recordedLately(m.id));
      const stored = await storedMessageIds(
        store,
        fresh.map((m) => m.id),
      );
      const n = await recorder.recordFetched(fresh.filter((m) => !stored.has(m.id)));
      result.recorded += n;
      this.opts.metrics.gapFilled.inc(n);
    }
    if (result.recorded > 0) logger.warn(result, 'gap fill: recorded messages the instance had missed');
    else logger.info(result, 'gap fill: nothing missing');
    return result;
  }

  /**
   * The chat's messages at or after `sinceMs`, asking for {@link FIRST_FETCH} first and for four times more while every
   * message returned is new (the gap may go on), up to `perChat`: a chat without a gap costs one small fetch.
   */
  async #fetch(chatId: string, sinceMs: number): Promise<EngineMessage[]> {
    const { engine, perChat } = this.opts;
    let limit = Math.min(perChat, FIRST_FETCH);
    for (;;) {
      const messages = await engine.messagesSince(chatId, sinceMs, limit);
      if (messages.length < limit || limit >= perChat) return messages;
      limit = Math.min(perChat, limit * 4);
    }
  }
}
