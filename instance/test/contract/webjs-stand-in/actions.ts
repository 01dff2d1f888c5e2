/**
 * Message actions in the webjs stand-in's world, as whatsapp-web.js reports them: the account's `Message.react`,
 * `edit`, `delete(true)` and `forward` (methods the stand-in's messages get from {@link StandInActions.withActions}),
 * and the same actions taken by peers on their phones. Each is told to the client with the library's events and
 * shapes: `message_reaction` (a `Reaction`), `message_edit` (message, new body, old body) and
 * `message_revoke_everyone` (the message now of type `revoked`, and the message before).
 */
import wwebjs from 'whatsapp-web.js';
import type { Reaction } from 'whatsapp-web.js';
import type { WebjsActionMessage } from '../../../src/engines/webjs/client-actions.js';
import type { StandInChat } from './chat.js';
import { messageId, textMessage, webKey, type MessageFixture } from './fixtures.js';
import type { StandInWorld } from './world.js';

/** A stand-in message with the action methods and the fields actions change. */
export type ActionFixture = MessageFixture & WebjsActionMessage & { latestEditSenderTimestampMs?: number | undefined };

export class StandInActions {
  /** Reactions by message id (serialized) and sender id, as the world keeps them for the peers' view. */
  readonly reactions = new Map<string, Map<string, string>>();

  constructor(private readonly world: StandInWorld) {}

  /** The message with id (or key) `id` in any chat, with its action methods; undefined when there is none. */
  find(id: string): { chat: StandInChat; msg: ActionFixture } | undefined {
    const key = id.includes('_') ? id.split('_')[2] : id;
    for (const chat of this.world.chats.values()) {
      const msg = chat.messages.find((m) => m.id._serialized === id || m.id.id === key);
      if (msg) return { chat, msg: this.withActions(msg) };
    }
    return undefined;
  }

  /** `msg` with `react`, `edit`, `delete` and `forward` acting as the account (added once). */
  withActions(msg: MessageFixture): ActionFixture {
    const m = msg as ActionFixture;
    if (typeof m.react === 'function') return m;
    const me = this.world.me.id;
    m.isForwarded ??= false;
    m.react = async (reaction: string) => this.#reacted(m, me, reaction);
    m.edit = async (content: string) => (m.fromMe && m.type !== 'revoked' ? this.#edited(m, content) : null);
    m.delete = async (everyone?: boolean) => {
      if (everyone && m.fromMe) this.#revoked(m);
    };
    m.forward = async (chatId: string) => {
      const chat = chatId.endsWith('@g.us') ? this.world.chats.get(chatId) : this.world.openChat(chatId);
      if (!chat) throw new Error(`Chat ${chatId} not found`);
      const copy = textMessage({ me, chatId, sender: me, body: m.body });
      copy.isForwarded = true;
      // A forward carries the message's content as it is: its type, media file, location or contact card.
      for (const field of ['type', 'hasMedia', 'rawData', 'location', 'vCards'] as const) {
        if (m[field] !== undefined) Object.assign(copy, { [field]: m[field] });
      }
      this.world.copyFile(m.id._serialized, copy.id._serialized);
      this.world.deliverOwn(chat, copy);
    };
    return m;
  }

  /** Peer `sender` reacts to the message with key `key` (empty: takes it off). */
  peerReacts(sender: string, key: string, reaction: string): void {
    this.#reacted(this.#require(key), sender, reaction);
  }

  /** Peer `author` edits its message with key `key`. */
  peerEdits(author: string, key: string, body: string): void {
    const msg = this.#require(key);
    if (msg.fromMe || (msg.author ?? msg.from) !== author) throw new Error(`${author} did not write ${key}`);
    this.#edited(msg, body);
  }

  /** Peer `author` deletes its message with key `key` for everyone. */
  peerRevokes(author: string, key: string): void {
    const msg = this.#require(key);
    if (msg.fromMe || (msg.author ?? msg.from) !== author) throw new Error(`${author} did not write ${key}`);
    this.#revoked(msg);
  }

  #require(key: string): ActionFixture {
    const found = this.find(key);
    if (!found) throw new Error(`no message ${key}`);
    return found.msg;
  }

  #reacted(msg: ActionFixture, sender: string, reaction: string): void {
    const byMsg = this.reactions.get(msg.id._serialized) ?? new Map<string, string>();
    if (reaction) byMsg.set(sender, reaction);
    else byMsg.delete(sender);
    this.reactions.set(msg.id._serialized, byMsg);
    const fromMe = sender === this.world.me.id;
    const r: Reaction = {
      id: messageId(fromMe, msg.id.remote, webKey()),
      orphan: 0,
      timestamp: Math.floor(Date.now() / 1000),
      reaction,
      read: fromMe,
      msgId: msg.id,
      senderId: sender,
      ack: fromMe ? wwebjs.MessageAck.ACK_SERVER : undefined,
    };
    this.world.notify('message_reaction', r);
  }

  #edited(msg: ActionFixture, body: string): ActionFixture {
    const prev = msg.body;
    msg.body = body;
    msg.latestEditSenderTimestampMs = Date.now();
    this.world.notify('message_edit', msg, body, prev);
    return msg;
  }

  #revoked(msg: ActionFixture): void {
    const before = { ...msg };
    msg.type = wwebjs.MessageTypes.REVOKED;
    msg.body = '';
    this.world.notify('message_revoke_everyone', msg, before);
  }
}
