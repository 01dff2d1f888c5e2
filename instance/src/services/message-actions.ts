/**
 * Message actions through the API: reply (quoted) and forward go through the send queue like any text (paced,
 * durable, sent once, naming the token); react, edit and delete for everyone (revoke) act at once through the engine
 * and are recorded like WhatsApp's report of them (`action-events.ts`). Everything WhatsApp would refuse is checked
 * against the stored message first, so a refused request changes nothing.
 */
import { EDIT_WINDOW_MS } from '../engines/engine-actions.js';
import type { Engine } from '../engines/engine.js';
import { AppError } from '../errors.js';
import { storedMessage } from '../storage/actions.js';
import type { MessageDoc, SentBy, Store } from '../storage/store.js';
import type { ActionEvents } from './action-events.js';
import { callEngine } from './engine-errors.js';
import type { MessagingService, SendOptions, SendResult } from './messaging.js';
import { toMessageView, type MessageView } from './views.js';

export class MessageActionsService {
  constructor(
    private readonly engine: Engine,
    private readonly store: Store,
    private readonly messaging: MessagingService,
    private readonly events: ActionEvents,
  ) {}

  /**
   * Queues a reply to stored message `id` in its chat, quoting it.
   * @throws AppError `message_not_found`, `message_revoked`, and what {@link MessagingService.send} throws.
   */
  async reply(id: string, text: string, sentBy: SentBy, options: SendOptions): Promise<SendResult> {
    const m = await this.#live(id);
    return this.messaging.send({ to: m.chatId, text, quotedMessageId: id }, sentBy, options);
  }

  /**
   * Queues a forward of stored message `id` to `to` (phone number or chat id).
   * @throws AppError `message_not_found`, `message_revoked`, `invalid_request` (not a text message), and what
   *   {@link MessagingService.send} throws.
   */
  async forward(id: string, to: string, sentBy: SentBy, options: SendOptions): Promise<SendResult> {
    const m = await this.#live(id);
    if (!m.body) throw new AppError('invalid_request', 'Only messages with text can be forwarded.');
    return this.messaging.send({ to, text: m.body, forwardOf: id }, sentBy, options);
  }

  /**
   * Puts the account's reaction `reaction` on stored message `id` (empty: takes it off); resolves with the message.
   * @throws AppError `message_not_found`, `message_revoked`, `session_not_ready`, `engine_error`.
   */
  async react(id: string, reaction: string): Promise<MessageView> {
    const m = await this.#live(id);
    await callEngine(() => this.engine.react(id, reaction));
    const me = this.engine.account()?.id ?? '';
    await this.events.reaction({ messageId: id, chatId: m.chatId, sender: me, reaction, timestamp: Date.now(), fromMe: true });
    return this.#view(id);
  }

  /**
   * Replaces the text of the account's own stored message `id`; resolves with the message (`editedAt` set).
   * @throws AppError `message_not_found`, `not_own_message`, `message_revoked`, `edit_window_passed`,
   *   `session_not_ready`, `engine_error`.
   */
  async edit(id: string, text: string): Promise<MessageView> {
    const m = await this.#own(id);
    if (Date.now() - m.timestamp.getTime() > EDIT_WINDOW_MS) throw new AppError('edit_window_passed');
    const edit = await callEngine(() => this.engine.editMessage(id, text));
    await this.events.edit(edit);
    return this.#view(id);
  }

  /**
   * Deletes the account's own stored message `id` for everyone; resolves with its tombstone.
   * @throws AppError `message_not_found`, `not_own_message`, `message_revoked`, `session_not_ready`, `engine_error`.
   */
  async revoke(id: string): Promise<MessageView> {
    await this.#own(id);
    const revoke = await callEngine(() => this.engine.revokeMessage(id));
    await this.events.revoke(revoke);
    return this.#view(id);
  }

  /** @throws AppError `message_not_found`, `message_revoked`. */
  async #live(id: string): Promise<MessageDoc> {
    const m = await storedMessage(this.store, id);
    if (!m) throw new AppError('message_not_found');
    if (m.revokedAt) throw new AppError('message_revoked');
    return m;
  }

  /** @throws AppError `message_not_found`, `message_revoked`, `not_own_message`. */
  async #own(id: string): Promise<MessageDoc> {
    const m = await this.#live(id);
    if (!m.fromMe) throw new AppError('not_own_message');
    return m;
  }

  async #view(id: string): Promise<MessageView> {
    const m = await storedMessage(this.store, id);
    if (!m) throw new AppError('message_not_found');
    return toMessageView(m);
  }
}
