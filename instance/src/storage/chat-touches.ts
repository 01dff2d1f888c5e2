/**
 * Coalesced chat touches: every message touches its chat's `lastMessageAt` and `lastMessage` (its summary). A chat seen for the first time is queued
 * for writing at once; later touches only keep the newest time and are queued every {@link CHAT_TOUCH_MS} (one upsert
 * per chat instead of one per message, which halved ingestion on FerretDB).
 */
import type { Persister } from './persistence.js';
import type { ChatDoc, MessageDoc } from './store.js';

/** Longest a stored chat's `lastMessageAt` lags behind its newest message, ms. */
export const CHAT_TOUCH_MS = 5_000;

export class ChatTouches {
  /** Latest chat record per chat; `dirty` ones are queued by the next flush. */
  readonly #latest = new Map<string, { doc: ChatDoc; dirty: boolean }>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly persister: Persister) {
    this.#timer = setInterval(() => this.flush(), CHAT_TOUCH_MS);
    this.#timer.unref();
    // Whoever closes the persister first, the last touches are queued and the timer stopped before its final flush.
    persister.beforeClose(() => this.close());
  }

  /** Chat `chatId` had a message at `at` (`message`: it, for the chat's `lastMessage`). */
  touch(chatId: string, isGroup: boolean, at: Date, message?: MessageDoc): void {
    const chat = { _id: chatId, isGroup, lastMessageAt: at, updatedAt: new Date() } as ChatDoc;
    if (message) {
      const { _id, author, fromMe, type, body, timestamp } = message;
      chat.lastMessage = { id: _id, author, fromMe, type, body, timestamp };
    }
    const prev = this.#latest.get(chatId);
    if (!prev) {
      this.#latest.set(chatId, { doc: chat, dirty: false });
      this.persister.enqueue({ kind: 'chat', doc: chat });
    } else if (!prev.doc.lastMessageAt || at >= prev.doc.lastMessageAt) {
      this.#latest.set(chatId, { doc: chat, dirty: true });
    }
  }

  /** Queues the coalesced touches (also called before the persister's final flush). */
  flush(): void {
    for (const t of this.#latest.values()) {
      if (!t.dirty) continue;
      t.dirty = false;
      this.persister.enqueue({ kind: 'chat', doc: t.doc });
    }
  }

  /** Stops the periodic flush after a last one (also run by the persister's close). */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
