/**
 * Messaging: sending text messages through the engine (recorded once, naming the sending token), reading stored
 * messages, and the message statistics.
 */
import { toChatId, type Engine } from '../engines/engine.js';
import { AppError } from '../errors.js';
import { findMessageById, findMessages, messageStats, type MessageFilter, type Page } from '../storage/queries.js';
import type { SentBy, Store } from '../storage/store.js';
import { callEngine } from './engine-errors.js';
import type { EventRecorder } from './event-recorder.js';
import { toMessageView, type MessageView } from './views.js';

export interface SendText {
  /** Phone number (digits, `+` allowed) or chat id (`…@c.us`, `…@g.us`). */
  to: string;
  text: string;
  /** Serialized id of the message to quote. */
  quotedMessageId?: string | undefined;
}

export class MessagingService {
  constructor(
    private readonly engine: Engine,
    private readonly store: Store,
    private readonly recorder: EventRecorder,
  ) {}

  /**
   * Sends `msg` and resolves with the stored message (id, ack ≥ 1), whose `sentBy` names the token.
   * @throws AppError `session_not_ready`, `chat_not_found`, `number_not_on_whatsapp`, `engine_error`.
   */
  async send(msg: SendText, sentBy: SentBy): Promise<MessageView> {
    const endSend = this.recorder.beginSend();
    try {
      const m = await callEngine(() => this.engine.sendText(toChatId(msg.to), msg.text, { quotedMessageId: msg.quotedMessageId }));
      return toMessageView(await this.recorder.recordSent(m, sentBy));
    } finally {
      endSend();
    }
  }

  /** One stored message. @throws AppError `message_not_found`. */
  async get(id: string): Promise<MessageView> {
    const doc = await findMessageById(this.store, id);
    if (!doc) throw new AppError('message_not_found');
    return toMessageView(doc);
  }

  /** Stored messages matching `filter`, newest first. @throws AppError `invalid_cursor`. */
  async list(filter: MessageFilter): Promise<Page<MessageView>> {
    const page = await findMessages(this.store, filter);
    return { items: page.items.map(toMessageView), nextCursor: page.nextCursor };
  }

  /** Messages in/out per UTC day for the last 30 days (oldest first) and totals of messages, chats and contacts. */
  stats(): ReturnType<typeof messageStats> {
    return messageStats(this.store);
  }
}
