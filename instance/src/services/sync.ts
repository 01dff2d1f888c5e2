/**
 * Sync after login: whenever the session becomes WORKING, the account's contacts, chats (name, group, unread count,
 * last message, archived / pinned / muted) and groups (subject, description, owner, participants with admin flags)
 * are stored, then a bounded history import stores the newest `historyPerChat` messages of every chat, newest chats
 * first. Progress goes out as `sync.progress` live events. Everything is idempotent (upserts, insert-or-ignore), so a
 * sync after each reconnect costs little and duplicates nothing. Between syncs, the engine's `contact`, `chat`
 * (through the event recorder) and `group` events keep the records current.
 *
 * Imported history is stored only: it is not announced as `message` live events or webhooks (it is old news), and it
 * does not pass the inbound journal (the phone keeps it; the next sync imports it again).
 */
import type { Logger } from 'pino';
import { EngineError, EngineNotReadyError, type Engine } from '../engines/engine.js';
import type { EngineGroup } from '../engines/engine-sync.js';
import { toMessageDoc } from '../storage/messages.js';
import type { MessageDoc, Store } from '../storage/store.js';
import { importMessages, writeChats, writeContacts, writeGroups } from '../storage/sync.js';
import type { LiveEvents } from './live-events.js';

/** Messages buffered before one `insertMany` of the history import. */
export const IMPORT_BATCH = 2_000;
/** Least time between two `sync.progress` events during the history import, ms. */
const PROGRESS_EVERY_MS = 250;

export interface SyncOptions {
  engine: Engine;
  store: Store;
  live: LiveEvents;
  logger: Logger;
  /** Messages imported per chat at most; 0 turns the history import off (contacts, chats and groups still sync). */
  historyPerChat: number;
}

/** The payload of a `sync.progress` event, and what a run did. */
export interface SyncProgress {
  /** `contacts`, `chats`, `groups`, `history` while running; `done` at the end; `failed` (with `error`) when it broke off. */
  phase: 'contacts' | 'chats' | 'groups' | 'history' | 'done' | 'failed';
  contacts: number;
  chats: number;
  groups: number;
  /** Chats whose history was imported so far, out of `chats`. */
  historyChats: number;
  /** Messages the history import stored (new to the database). */
  messagesImported: number;
  error?: string | undefined;
}

export class SyncService {
  #running: Promise<SyncProgress> | undefined;
  #again = false;
  /** The group writes, chained (see the constructor); never rejects. */
  #groupWrites: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SyncOptions) {
    opts.engine.on('state', (state) => {
      if (state === 'WORKING') this.trigger();
    });
    // One group write at a time, in the order WhatsApp reported them: each replaces the stored group with a snapshot,
    // so two writes in flight could land out of order and leave an older snapshot (a promotion lost).
    opts.engine.on('group', (g) => {
      this.#groupWrites = this.#groupWrites
        .then(() => this.#onGroup(g))
        .catch((err: Error) => opts.logger.error({ err }, 'group event failed'));
    });
  }

  /** Starts a sync (or one more after the one under way); never throws (failures are logged and reported). */
  trigger(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.trigger();
      }
    });
  }

  /** Resolves once no sync is under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** One sync; resolves with what it did (phase `done`, or `failed` with the error). Never rejects. */
  async run(): Promise<SyncProgress> {
    const p: SyncProgress = { phase: 'contacts', contacts: 0, chats: 0, groups: 0, historyChats: 0, messagesImported: 0 };
    const { engine, store, logger } = this.opts;
    const t0 = Date.now();
    try {
      this.#publish(p);
      const contacts = await engine.contacts();
      await writeContacts(store, contacts);
      p.contacts = contacts.length;
      p.phase = 'chats';
      this.#publish(p);
      const chats = await engine.chats();
      await writeChats(store, chats);
      p.chats = chats.length;
      p.phase = 'groups';
      this.#publish(p);
      const groups = await engine.groups();
      await writeGroups(store, groups);
      p.groups = groups.length;
      p.phase = 'history';
      this.#publish(p);
      const newestFirst = [...chats].sort((a, b) => (b.lastMessageAt ?? 0) - (a.lastMessageAt ?? 0));
      await this.#importHistory(
        newestFirst.map((c) => c.id),
        p,
      );
      p.phase = 'done';
      logger.info({ ...p, ms: Date.now() - t0 }, 'sync after login done');
    } catch (err) {
      p.phase = 'failed';
      p.error = err instanceof Error ? err.message : String(err);
      if (err instanceof EngineNotReadyError) logger.info({ ...p }, 'sync after login stopped: the session is not WORKING');
      else logger.warn({ err, ...p }, 'sync after login failed; the next login or reconnect tries again');
    }
    this.#publish(p);
    return p;
  }

  /**
   * The newest `historyPerChat` messages of each chat, written in batches of {@link IMPORT_BATCH} (one write in flight
   * while the next chats are read). A chat the engine does not have (any more) is skipped.
   */
  async #importHistory(chatIds: string[], p: SyncProgress): Promise<void> {
    const { engine, store, historyPerChat } = this.opts;
    if (historyPerChat <= 0) return;
    let buffer: MessageDoc[] = [];
    let writing: Promise<void> = Promise.resolve();
    let lastProgress = Date.now();
    const flush = async () => {
      const docs = buffer;
      buffer = [];
      await writing;
      writing = importMessages(store, docs).then((n) => void (p.messagesImported += n));
    };
    for (const chatId of chatIds) {
      try {
        const messages = await engine.messagesSince(chatId, 0, historyPerChat);
        for (const m of messages) buffer.push(toMessageDoc(m));
      } catch (err) {
        if (!(err instanceof EngineError && err.code === 'chat_not_found')) {
          await writing.catch(() => undefined);
          throw err;
        }
      }
      p.historyChats++;
      if (buffer.length >= IMPORT_BATCH) await flush();
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        this.#publish(p);
      }
    }
    await flush();
    await writing;
  }

  async #onGroup(g: EngineGroup): Promise<void> {
    await writeGroups(this.opts.store, [g]);
  }

  #publish(p: SyncProgress): void {
    this.opts.live.publish('sync.progress', { ...p });
  }
}
