/**
 * Message actions on the simulated network: react, edit, delete for everyone (revoke) and forward, by a linked device
 * (request frames) or by a phone (test hooks). Each change is pushed to every account that sees the message — the
 * actor included, as WhatsApp reports own actions back to all of the account's devices.
 *
 * Rules (WhatsApp's): only the author edits or revokes, an edit is possible for {@link EDIT_WINDOW_MS} after sending,
 * a revoked message keeps a tombstone (no body, type `revoked`) and takes no more edits, reactions or forwards.
 */
import type { NetworkCore } from './core.js';
import { SimnetError, chatIdFor, keyOf, userId, type Device, type StoredMessage } from './model.js';
import type { MessageContent, WireEdit, WireMessage, WireRevoke } from './protocol.js';

/** How long after sending a message may be edited (WhatsApp's 15 minutes), ms. */
export const EDIT_WINDOW_MS = 15 * 60_000;

export class MessageActions {
  constructor(private readonly core: NetworkCore) {}

  /**
   * Account `phone` reacts to message `messageId` (any side's serialized id) with `reaction`; empty takes it off.
   * @throws SimnetError `message_not_found` (404), `message_revoked` (409).
   */
  react(phone: string, messageId: string, reaction: string): void {
    const m = this.#live(phone, messageId);
    m.reactions ??= new Map();
    const timestamp = Date.now();
    if (reaction) m.reactions.set(phone, { reaction, timestamp });
    else m.reactions.delete(phone);
    for (const p of audience(m)) {
      const reactionView = {
        messageId: this.#idFor(m, p),
        chatId: chatIdFor(m, p),
        sender: userId(phone),
        reaction,
        timestamp,
        fromMe: p === phone,
      };
      this.core.push(p, { kind: 'reaction', reaction: reactionView });
    }
  }

  /**
   * Account `phone` edits its message `messageId` to `body`; returns the edit as `phone` sees it.
   * @throws SimnetError `message_not_found` (404), `not_own_message` (403), `message_revoked` (409),
   *   `edit_window_passed` (422).
   */
  edit(phone: string, messageId: string, body: string): WireEdit {
    const m = this.#own(phone, messageId);
    if (Date.now() - m.timestamp > EDIT_WINDOW_MS) {
      throw new SimnetError('edit_window_passed', `messages can be edited for ${EDIT_WINDOW_MS / 60_000} minutes after sending`, 422);
    }
    m.body = body;
    m.editedAt = Date.now();
    for (const p of audience(m)) {
      this.core.push(p, {
        kind: 'edit',
        edit: { messageId: this.#idFor(m, p), chatId: chatIdFor(m, p), author: userId(phone), body, editedAt: m.editedAt },
      });
    }
    return { messageId: this.#idFor(m, phone), chatId: chatIdFor(m, phone), author: userId(phone), body, editedAt: m.editedAt };
  }

  /**
   * Account `phone` deletes its message `messageId` for everyone; returns the revoke as `phone` sees it.
   * @throws SimnetError `message_not_found` (404), `not_own_message` (403), `message_revoked` (409).
   */
  revoke(phone: string, messageId: string): WireRevoke {
    const m = this.#own(phone, messageId);
    m.body = '';
    delete m.content;
    m.revokedAt = Date.now();
    m.reactions?.clear();
    for (const p of audience(m)) {
      this.core.push(p, {
        kind: 'revoke',
        revoke: { messageId: this.#idFor(m, p), chatId: chatIdFor(m, p), author: userId(phone), revokedAt: m.revokedAt },
      });
    }
    return { messageId: this.#idFor(m, phone), chatId: chatIdFor(m, phone), author: userId(phone), revokedAt: m.revokedAt };
  }

  /**
   * Account `phone` forwards message `messageId` to chat `to` as a new message (key `key`, generated when absent).
   * @throws SimnetError `message_not_found` (404), `message_revoked` (409), and what sending throws.
   */
  forward(phone: string, messageId: string, to: string, key?: string, origin?: Device, respond?: (m: WireMessage) => void): WireMessage {
    const m = this.#live(phone, messageId);
    // The copy carries the message's content as it is (the same file on the media server, location or contact card).
    const content = m.content as MessageContent | undefined;
    return this.core.send(
      { from: phone, to, body: m.body, forwarded: true, ...(key === undefined ? {} : { key }), ...(content ? { content } : {}) },
      origin,
      respond,
    );
  }

  /** A message `phone` sees, and its state for the hooks: reactions by user id, edit and revoke times. */
  inspect(phone: string, messageId: string): WireMessage & { reactions: Record<string, string>; editedAt?: number; revokedAt?: number } {
    const m = this.#visible(phone, messageId);
    const reactions = Object.fromEntries(
      [...(m.reactions ?? new Map<string, { reaction: string }>())].map(([p, r]) => [userId(p), r.reaction]),
    );
    return { ...this.core.views.message(m, phone), reactions, editedAt: m.editedAt, revokedAt: m.revokedAt };
  }

  /** @throws SimnetError `message_not_found` unless `phone` sent or received the message. */
  #visible(phone: string, messageId: string): StoredMessage {
    this.core.views.requireAccount(phone);
    const key = keyOf(messageId);
    const m = key === undefined ? undefined : this.core.messages.get(key);
    if (!m || (m.from !== phone && !m.status.has(phone)))
      throw new SimnetError('message_not_found', `account ${phone} has no message ${messageId}`);
    return m;
  }

  /** {@link #visible} and not revoked. */
  #live(phone: string, messageId: string): StoredMessage {
    const m = this.#visible(phone, messageId);
    if (m.revokedAt !== undefined) throw new SimnetError('message_revoked', 'this message was deleted for everyone', 409);
    return m;
  }

  /** {@link #live} and written by `phone`. */
  #own(phone: string, messageId: string): StoredMessage {
    const m = this.#live(phone, messageId);
    if (m.from !== phone) throw new SimnetError('not_own_message', 'only the author of a message may edit or delete it for everyone', 403);
    return m;
  }

  #idFor(m: StoredMessage, phone: string): string {
    return `${m.from === phone}_${chatIdFor(m, phone)}_${m.key}`;
  }
}

/** Every account that sees `m`: its author and its recipients. */
function audience(m: StoredMessage): string[] {
  return [m.from, ...[...m.status.keys()].filter((p) => p !== m.from)];
}
