/**
 * The WhatsApp the webjs stand-in client sees: the account, the other users on WhatsApp, chats with their messages,
 * groups. Peers act on it (send, read) and it tells the current {@link StandInClient} in whatsapp-web.js' events,
 * as WhatsApp Web would: `message_create` (and `message` for received ones) then `unread_count`; own messages get
 * `message_ack` 1 → 2 at once (the peer's phone is online) and 3 when the peer reads.
 */
import type { ClientOptions, Location, MessageAck, MessageId, MessageMedia, MessageSendOptions } from 'whatsapp-web.js';
import wwebjs from 'whatsapp-web.js';
import type { ChatState } from '../../../src/engines/engine.js';
import type { WebjsContact, WebjsMediaMessage } from '../../../src/engines/webjs/client.js';
import { StandInActions } from './actions.js';
import { StandInChat } from './chat.js';
import { StandInClient } from './client.js';
import { groupContact, textMessage, userContact, type MessageFixture } from './fixtures.js';
import { StandInGroupChat } from './groups.js';
import type { StandInWaWeb } from './wa-web.js';
import { applyContent, contentOfSend, withDownload, type StandInContent } from './media.js';

const { MessageAck: Ack } = wwebjs;

/** A change a member makes to a group. */
export interface GroupChangeInput {
  subject?: string | undefined;
  description?: string | undefined;
  add?: string[] | undefined;
  remove?: string[] | undefined;
  promote?: string[] | undefined;
  demote?: string[] | undefined;
}

export class StandInWorld {
  /** Users on WhatsApp by id, with their pushname (the account's own entry included). */
  readonly accounts = new Map<string, { pushname: string | undefined }>();
  readonly chats = new Map<string, StandInChat>();
  /** Indicators the account showed, oldest first. */
  readonly chatStates: Array<{ chatId: string; state: ChatState; timestamp: number }> = [];
  /** Media files by message id (`Message.downloadMedia()`); a test deletes one to play "no longer on WhatsApp". */
  readonly files = new Map<string, MessageMedia>();
  /** Whether the phone linked this device (the stored session). */
  linked = false;
  /** Message actions (reactions, edits, revokes, forwards) by the account and by peers. */
  readonly actions = new StandInActions(this);
  /** WhatsApp Web's page (its presence collection) in a real Chromium, when the world was given one. */
  waWeb: StandInWaWeb | undefined;
  #client: StandInClient | undefined;
  #qrs = 0;
  #groups = 0;

  constructor(readonly me: { id: string; pushname: string }) {
    this.accounts.set(me.id, { pushname: me.pushname });
  }

  /** `createClient` for the engine. */
  newClient(options: ClientOptions): StandInClient {
    return new StandInClient(this, options);
  }

  attach(client: StandInClient): void {
    this.#client = client;
  }

  detach(client: StandInClient): void {
    if (this.#client === client) this.#client = undefined;
  }

  /** A QR string shaped like WhatsApp Web's (`2@…,…,…,…`). */
  nextQr(): string {
    return `2@standin${++this.#qrs},cHVibGljS2V5,aWRlbnRpdHk=,YWR2U2VjcmV0`;
  }

  /** The phone scans the QR shown: the session is stored and the current client logs in. */
  scan(): void {
    this.linked = true;
    this.#client?.loggedIn();
  }

  /** Registers a user on WhatsApp. */
  addUser(id: string, pushname: string | undefined): void {
    this.accounts.set(id, { pushname });
  }

  /** Opens (or returns) the 1:1 chat with user `id`, named like WhatsApp Web: the contact's name. */
  openChat(id: string): StandInChat {
    let chat = this.chats.get(id);
    if (!chat) {
      chat = new StandInChat(id, this.accounts.get(id)?.pushname ?? '', this.#onState, this.#onSeen);
      this.chats.set(id, chat);
      this.waWeb?.addChat(id);
    }
    return chat;
  }

  /**
   * Creates a group owned by `options.owner` (super admin; the account by default) with `members` (`admins` among
   * them are admins); returns its id.
   */
  createGroup(subject: string, members: string[], options: { description?: string; admins?: string[]; owner?: string } = {}): string {
    const id = `120363${String(Date.now()).slice(-9)}${String(++this.#groups).padStart(6, '0')}@g.us`;
    const owner = options.owner ?? this.me.id;
    const chat = new StandInGroupChat(id, subject, owner, members, this, this.#onState, this.#onSeen);
    chat.createdAt = new Date();
    chat.description = options.description ?? '';
    for (const p of chat.participants) if (options.admins?.includes(p.id._serialized)) p.isAdmin = true;
    this.chats.set(id, chat);
    this.waWeb?.addChat(id);
    chat.announceCreate(owner);
    return id;
  }

  /** The group `id`. @throws Error when there is none. */
  group(id: string): StandInGroupChat {
    const chat = this.chats.get(id);
    if (!(chat instanceof StandInGroupChat)) throw new Error(`no group ${id}`);
    return chat;
  }

  /** The ids of the account's chats, most recent first. */
  chatIds(): string[] {
    return [...this.chats.values()].sort((a, b) => b.timestamp - a.timestamp).map((c) => c.id._serialized);
  }

  /**
   * User `from` shows `state` in the chat with the account (or group `to`) on WhatsApp Web's page: its chatstate
   * becomes typing / recording (or none for paused). @throws without a page, or when WhatsApp Web never subscribed.
   */
  async peerShows(from: string, state: ChatState, to?: string): Promise<void> {
    if (!this.waWeb) throw new Error('this stand-in world has no WhatsApp Web page');
    await this.waWeb.peerShows(to ?? from, from, state === 'paused' ? null : state);
  }

  /** Whether user `id` is on WhatsApp. */
  hasUser(id: string): boolean {
    return this.accounts.has(id);
  }

  /** Tells the current client `event` (as whatsapp-web.js would emit it). */
  notify(event: string, ...args: unknown[]): void {
    this.#emit(event, ...args);
  }

  /**
   * Member `actor` changes group `groupId` on their phone ({@link StandInGroupChat.act}: the client hears
   * whatsapp-web.js' notification events `group_update`, `group_join`, `group_leave`, `group_admin_changed`).
   * @throws Error when WhatsApp would refuse the change (not a member, not an admin).
   */
  updateGroup(actor: string, groupId: string, change: GroupChangeInput): void {
    const group = this.group(groupId);
    const act = (...args: Parameters<StandInGroupChat['act']>) => {
      if (!group.act(...args)) throw new Error(`${actor} may not ${args[1]} in ${groupId}`);
    };
    if (change.subject !== undefined) act(actor, 'subject', { subject: change.subject });
    if (change.description !== undefined) act(actor, 'description', { description: change.description });
    for (const type of ['add', 'remove', 'promote', 'demote'] as const) {
      const participants = change[type];
      if (participants?.length) act(actor, type, { participants });
    }
  }

  /** The account archives / pins / mutes a chat on its phone; whatsapp-web.js tells only archiving (`chat_archived`). */
  setChatFlags(chatId: string, flags: { archived?: boolean | undefined; pinned?: boolean | undefined; muted?: boolean | undefined }): void {
    const chat = this.chats.get(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    if (flags.pinned !== undefined) chat.pinned = flags.pinned;
    if (flags.muted !== undefined) chat.isMuted = flags.muted;
    if (flags.archived !== undefined && flags.archived !== chat.archived) {
      const prev = chat.archived;
      chat.archived = flags.archived;
      this.#emit('chat_archived', chat, chat.archived, prev);
    }
  }

  readonly #onState = (chatId: string, state: ChatState) => this.chatStates.push({ chatId, state, timestamp: Date.now() });

  /** `Chat.sendSeen()`: unread 0 (`unread_count`), the peers' messages read. */
  readonly #onSeen = (chat: StandInChat) => {
    chat.unreadCount = 0;
    for (const m of chat.messages) if (!m.fromMe) m.ack = Ack.ACK_READ;
    this.#emit('unread_count', chat);
  };

  /** `getContacts()`: every user the account knows and its groups. */
  contacts(): WebjsContact[] {
    const users = [...this.accounts].filter(([id]) => id !== this.me.id).map(([id, a]) => userContact(id, a.pushname));
    const groups = [...this.chats.values()].filter((c) => c.isGroup).map((c) => groupContact(c.id._serialized, c.name));
    return [...users, ...groups];
  }

  /**
   * User `from` sends `body` (a text, or with `content` a media file, location or contact card: `media.ts`) to the
   * account (or to group `to`); the client hears `message_create`, `message`, `unread_count`.
   */
  peerSends(
    from: string,
    body: string,
    options: { to?: string | undefined; quotedKey?: string | undefined; content?: StandInContent | undefined } = {},
  ): MessageFixture {
    const chatId = options.to ?? from;
    const chat = chatId.endsWith('@g.us') ? this.chats.get(chatId) : this.openChat(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    const quoted = options.quotedKey === undefined ? undefined : this.#find(chat, options.quotedKey);
    const msg = this.#withContent(textMessage({ me: this.me.id, chatId, sender: from, body, quoted }), options.content);
    chat.add(msg);
    this.#emit('message_create', msg);
    this.#emit('message', msg);
    this.#emit('unread_count', chat);
    return msg;
  }

  /** The account's own send (`Client.sendMessage`: a text, vCard, `MessageMedia` or `Location`): `message_create`, then acks 1 and 2. */
  ownSend(
    chatId: string,
    body: string | MessageMedia | Location,
    quotedMessageId: string | undefined,
    options?: MessageSendOptions,
  ): MessageFixture {
    const chat = chatId.endsWith('@g.us') ? this.chats.get(chatId) : this.openChat(chatId);
    if (!chat) throw new Error(`no chat ${chatId}`);
    const quotedKey = quotedMessageId?.split('_')[2];
    const quoted = quotedKey === undefined ? undefined : this.#find(chat, quotedKey);
    const text = typeof body === 'string' ? body : '';
    const msg = this.#withContent(
      textMessage({ me: this.me.id, chatId, sender: this.me.id, body: text, quoted }),
      contentOfSend(body, options),
    );
    return this.deliverOwn(chat, msg);
  }

  /** An own message `msg` goes out in `chat`: `message_create`, then acks 1 and 2. */
  deliverOwn(chat: StandInChat, msg: MessageFixture): MessageFixture {
    chat.add(msg);
    this.#emit('message_create', msg);
    setImmediate(() => {
      this.#ack(msg, Ack.ACK_SERVER);
      this.#ack(msg, Ack.ACK_DEVICE);
    });
    return msg;
  }

  /** User `peer` reads the chat with the account: the account's messages there go to ack 3. */
  peerReads(peer: string): number {
    const chat = this.chats.get(peer);
    let n = 0;
    for (const msg of chat?.messages ?? []) {
      if (msg.fromMe && msg.ack < Ack.ACK_READ) {
        this.#ack(msg, Ack.ACK_READ);
        n++;
      }
    }
    return n;
  }

  /** The account's messages in the chat with `peer`, as that peer received them. */
  sentTo(peer: string): MessageFixture[] {
    return (this.chats.get(peer)?.messages ?? []).filter((m) => m.fromMe);
  }

  /** `msg` with its media download (`Message.downloadMedia()`: the file kept by message id, while it is kept). */
  withDownload<M extends MessageFixture>(msg: M): M & WebjsMediaMessage {
    return withDownload(msg, () => this.files.get(msg.id._serialized));
  }

  /** Keeps the file of message `id` (a forwarded copy's). */
  copyFile(fromId: string, toId: string): void {
    const file = this.files.get(fromId);
    if (file) this.files.set(toId, file);
  }

  #withContent(msg: MessageFixture, content: StandInContent | undefined): MessageFixture {
    if (!content) return msg;
    if (content.kind === 'media') this.files.set(msg.id._serialized, content.media);
    return applyContent(msg, content);
  }

  #find(chat: StandInChat, key: string): MessageId | undefined {
    return chat.messages.find((m) => m.id.id === key)?.id ?? undefined;
  }

  #ack(msg: MessageFixture, ack: MessageAck): void {
    if (msg.ack >= ack) return;
    msg.ack = ack;
    this.#emit('message_ack', msg, ack);
  }

  #emit(event: string, ...args: unknown[]): void {
    const client = this.#client;
    if (client?.alive && client.info) client.emit(event, ...args);
  }
}
