/**
 * The simulated WhatsApp network, in memory: accounts by phone number, linked devices with their push queues,
 * pending logins (rotating QRs, pairing codes), groups, messages and their per-recipient delivery state.
 *
 * Transport-free: the server hands every WebSocket to {@link SimNetwork} as a {@link Link} and forwards its
 * validated frames; the test hooks call the public methods directly.
 *
 * Delivery model. Every account has a phone. An account that has never linked a device is a plain phone user:
 * its phone is always online, so messages to it are delivered (ack 2) at once. An account with linked devices
 * is represented by those devices: a message to it is delivered when one of its devices confirms the push
 * (at once if connected, else when it reconnects; pushes are queued per device). A message's ack, as its sender
 * sees it, is the lowest state over its recipients: 1 sent, 2 delivered, 3 read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { MessageActions } from './actions.js';
import { ChatStates } from './chat-states.js';
import type { NetworkCore } from './core.js';
import { handleFeatureRequest } from './feature-requests.js';
import { GroupAdmin } from './group-admin.js';
import { Presence } from './presence.js';
import { NetworkSync } from './sync.js';
import { PendingLogins } from './logins.js';
import { MediaStore } from './media.js';
import { NetworkViews } from './views.js';
import {
  SimnetError,
  chatIdFor,
  groupContact,
  keyOf,
  newMessageKey,
  phoneOf,
  userId,
  type Account,
  type ChatRecord,
  type Device,
  type Group,
  type Link,
  type NetworkOptions,
  type SendInput,
  type StoredMessage,
} from './model.js';
import type { Ack, ClientFrame, PushEvent, RequestFrame, ResultMap, WireAccount, WireChat, WireContact, WireMessage } from './protocol.js';

export class SimNetwork {
  readonly #logins: PendingLogins;
  readonly #accounts = new Map<string, Account>();
  readonly #devices = new Map<string, Device>();
  readonly #groups = new Map<string, Group>();
  readonly #messages = new Map<string, StoredMessage>();
  readonly #deviceOfLink = new Map<Link, Device>();
  /** Phones that are offline (test hook): their devices cannot connect. */
  readonly #offline = new Set<string>();
  /** The read side: what an account sees of the state above. */
  readonly #views = new NetworkViews(this.#accounts, this.#groups, this.#messages);
  /** Typing / recording indicators the devices showed (for the test hooks). */
  readonly chatStates = new ChatStates();
  /** What the feature modules see of this network. */
  readonly #core: NetworkCore = {
    accounts: this.#accounts,
    groups: this.#groups,
    messages: this.#messages,
    views: this.#views,
    push: (phone, event) => this.#pushToAccount(phone, event),
    pushLive: (phone, event) => this.#pushToAccount(phone, event, true),
    ensureChat: (phone, chatId) => this.#ensureChat(phone, chatId),
    ensurePeer: (phone, peer) => this.#ensurePeer(phone, peer),
    advance: (key, phone, state) => this.#advance(key, phone, state),
    send: (input, origin, respond) => this.#send(input, origin, respond),
  };
  /** Message actions, group administration and presence (also used by the test hooks). */
  readonly actions = new MessageActions(this.#core);
  readonly groupAdmin = new GroupAdmin(this.#core);
  readonly presence = new Presence(this.#core);
  /** Groups' metadata and chat flags (sync after login). */
  readonly sync = new NetworkSync(this.#core);
  /** The media server's files (`media.ts`). */
  readonly media = new MediaStore();

  constructor(options: NetworkOptions = {}) {
    this.#logins = new PendingLogins(options.qrIntervalMs ?? 20_000, options.qrMaxCount ?? 6);
  }

  /** Counts for `GET /health`. */
  stats(): { accounts: number; devices: number; connected: number; groups: number; messages: number; pendingLogins: number } {
    return {
      accounts: this.#accounts.size,
      devices: this.#devices.size,
      connected: this.#deviceOfLink.size,
      groups: this.#groups.size,
      messages: this.#messages.size,
      pendingLogins: this.#logins.size,
    };
  }

  // ── Links (device connections) ─────────────────────────────────────────────────────────────────────────────

  /** Handles one validated frame from a device connection. */
  handleFrame(link: Link, frame: ClientFrame): void {
    switch (frame.type) {
      case 'login':
        return this.#beginLogin(link, frame.phone);
      case 'resume':
        return this.#resume(link, frame.deviceId, frame.token);
      case 'received':
        return this.#confirm(link, frame.seq);
      default:
        return this.#request(link, frame);
    }
  }

  /** The connection closed: cancel its login, or mark its device offline (its queue is kept). */
  detach(link: Link): void {
    this.#logins.end(link);
    const device = this.#deviceOfLink.get(link);
    if (device) {
      this.#deviceOfLink.delete(link);
      if (device.link === link) delete device.link;
    }
  }

  /** Stops all timers (server shutdown). */
  close(): void {
    this.#logins.close();
  }

  #beginLogin(link: Link, phone: string | undefined): void {
    if (this.#deviceOfLink.has(link) || this.#logins.has(link)) {
      return link.send({ type: 'error', error: { code: 'bad_state', message: 'this connection is already logging in or linked' } });
    }
    this.#logins.begin(link, phone);
  }

  #resume(link: Link, deviceId: string, token: string): void {
    const device = this.#devices.get(deviceId);
    if (!device || device.token !== token) {
      link.send({ type: 'session_invalid', reason: 'this device is not linked (logged out or unknown to the network)' });
      return;
    }
    if (this.#offline.has(device.phone)) return link.drop(1013, 'phone offline');
    const previous = device.link;
    if (previous && previous !== link) {
      this.#deviceOfLink.delete(previous);
      previous.send({ type: 'conflict', reason: 'this session was opened by another connection' });
      previous.close();
    }
    this.#bind(link, device);
    link.send({ type: 'resumed', account: this.#views.account(device.phone) });
    for (const [seq, queued] of device.queue) link.send({ type: 'push', seq, event: queued.event });
    link.send({ type: 'ready' });
  }

  #bind(link: Link, device: Device): void {
    device.link = link;
    this.#deviceOfLink.set(link, device);
  }

  /** Links a new device of account `phone` to the connection that showed the QR/code (its login already ended). */
  #link(link: Link, phone: string, pushname: string | undefined): WireAccount {
    const account = this.#ensureAccount(phone, pushname);
    const device: Device = { id: randomUUID(), token: randomBytes(24).toString('base64url'), phone, queue: new Map(), nextSeq: 1 };
    this.#devices.set(device.id, device);
    account.devices.add(device.id);
    this.#bind(link, device);
    const view = this.#views.account(phone);
    link.send({ type: 'authenticated', account: view, session: { deviceId: device.id, token: device.token } });
    link.send({ type: 'ready' });
    return view;
  }

  #confirm(link: Link, seq: number): void {
    const device = this.#deviceOfLink.get(link);
    const queued = device?.queue.get(seq);
    if (!device || !queued) return;
    device.queue.delete(seq);
    if (queued.deliveryKey) this.#advance(queued.deliveryKey, device.phone, 2);
  }

  #request(link: Link, frame: RequestFrame): void {
    const device = this.#deviceOfLink.get(link);
    const fail = (code: string, message: string) =>
      link.send({ type: 'response', reqId: frame.reqId, ok: false, error: { code, message } });
    if (!device) return fail('not_authenticated', 'this connection is not a linked device');
    const reply = <T extends keyof ResultMap>(result: ResultMap[T]) =>
      link.send({ type: 'response', reqId: frame.reqId, ok: true, result });
    try {
      switch (frame.type) {
        case 'send': {
          const input: SendInput = { from: device.phone, to: frame.to, body: frame.body, key: frame.key, content: frame.content };
          if (frame.quotedMessageId !== undefined) input.quotedMessageId = frame.quotedMessageId;
          this.#send(input, device, (message) => reply<'send'>({ message }));
          return;
        }
        case 'contacts':
          return reply<'contacts'>({ contacts: this.contacts(device.phone) });
        case 'chatstate': {
          const to = frame.chatId.includes('@') ? frame.chatId : `${frame.chatId.replace(/\D/g, '')}@c.us`;
          this.#views.recipients(device.phone, to); // the chat must exist (chat_not_found / number_not_on_whatsapp)
          this.chatStates.record(device.phone, to, frame.state);
          this.presence.broadcast(device.phone, to, frame.state);
          return reply<'chatstate'>({});
        }
        case 'chats':
          return reply<'chats'>({ chats: this.chats(device.phone) });
        case 'groups':
          return reply<'groups'>({ groups: this.sync.groupsOf(device.phone) });
        case 'read':
          this.markRead(device.phone, frame.chatId);
          return reply<'read'>({});
        case 'history':
          return reply<'history'>({ messages: this.history(device.phone, frame.chatId, frame.limit) });
        case 'logout':
          this.#unlinkDevice(device);
          return reply<'logout'>({});
        default:
          return handleFeatureRequest({ actions: this.actions, groups: this.groupAdmin }, device, frame, reply);
      }
    } catch (err) {
      if (err instanceof SimnetError) return fail(err.code, err.message);
      throw err;
    }
  }

  #unlinkDevice(device: Device): void {
    this.#devices.delete(device.id);
    this.#accounts.get(device.phone)?.devices.delete(device.id);
    if (device.link) this.#deviceOfLink.delete(device.link);
  }

  // ── Phone side (test hooks) ─────────────────────────────────────────────────────────────────────────────────

  /** Creates the account for `phone` (or updates its pushname when given). */
  registerAccount(phone: string, pushname?: string): WireAccount {
    this.#ensureAccount(phone, pushname);
    return this.#views.account(phone);
  }

  #ensureAccount(phone: string, pushname: string | undefined): Account {
    let account = this.#accounts.get(phone);
    if (!account) {
      account = { phone, devices: new Set(), chats: new Map(), peers: new Set() };
      this.#accounts.set(phone, account);
    }
    if (pushname !== undefined) account.pushname = pushname;
    return account;
  }

  /** Public view of an account. @throws SimnetError `account_not_found` (404). */
  account(phone: string): WireAccount {
    this.#views.requireAccount(phone);
    return this.#views.account(phone);
  }

  /** Pending logins (what devices show right now), for demos and tests. */
  pendingLogins(): Array<{ qr?: string | undefined; code?: string | undefined; phone?: string | undefined }> {
    return this.#logins.list();
  }

  /**
   * The phone with number `phone` scans `qr`: the device showing it is linked to that account (created if new).
   * @throws SimnetError `qr_not_found` (404) unless `qr` is the QR a device shows right now.
   */
  scan(qr: string, phone: string, pushname?: string): WireAccount {
    const login = this.#logins.takeByQr(qr);
    if (!login) throw new SimnetError('qr_not_found', 'no device shows this QR (expired, already scanned or never issued)');
    return this.#link(login.link, phone, pushname);
  }

  /**
   * The phone confirms pairing `code` (with or without the dash, any case).
   * @throws SimnetError `code_not_found` (404).
   */
  pair(code: string, pushname?: string): WireAccount {
    const normalized = code.replace(/[-\s]/g, '').toUpperCase();
    const login = this.#logins.takeByCode(normalized);
    if (!login) throw new SimnetError('code_not_found', 'no device waits for this pairing code');
    return this.#link(login.link, login.phone, pushname);
  }

  /** Unlinks every device of the account ("Linked devices → Log out" on the phone). Returns how many. */
  unlink(phone: string): number {
    const account = this.#views.requireAccount(phone);
    const devices = [...account.devices].flatMap((id) => this.#devices.get(id) ?? []);
    for (const device of devices) {
      const link = device.link;
      this.#unlinkDevice(device);
      link?.send({ type: 'logged_out', reason: 'device unlinked from the phone' });
    }
    return devices.length;
  }

  /**
   * Breaks the connections of the account's devices (a network drop; they stay linked and may reconnect). With
   * `offline`, the phone also goes offline: its devices cannot connect until {@link setOnline}. Returns how many
   * connections were dropped. @throws SimnetError `account_not_found` (404).
   */
  disconnect(phone: string, offline = false): number {
    const account = this.#views.requireAccount(phone);
    if (offline) this.#offline.add(phone);
    const links = [...account.devices].flatMap((id) => this.#devices.get(id)?.link ?? []);
    for (const link of links) link.drop();
    return links.length;
  }

  /** The phone is back online: its devices may connect again. @throws SimnetError `account_not_found` (404). */
  setOnline(phone: string): void {
    this.#views.requireAccount(phone);
    this.#offline.delete(phone);
  }

  /**
   * Creates a group; the owner is a participant (see {@link GroupAdmin.create}).
   * @throws SimnetError `account_not_found` (404) for an unknown owner or participant.
   */
  createGroup(name: string, owner: string, participants: string[], extra: { description?: string; admins?: string[] } = {}): WireContact {
    for (const phone of [owner, ...participants]) this.#views.requireAccount(phone);
    return groupContact(this.#groups.get(this.groupAdmin.create(owner, name, participants, extra).id)!);
  }

  /**
   * Sends a text message from account `from`'s phone to `to` (phone or chat id) and delivers it; the account's
   * linked devices get it as a fromMe message. Returns the sender's view (ack as of now).
   * @throws SimnetError `account_not_found`, `number_not_on_whatsapp`, `chat_not_found` (404), `duplicate_key` (409).
   */
  send(input: SendInput): WireMessage {
    return this.#send(input);
  }

  /**
   * {@link send} from device `origin` (it gets no copy of its own message); `respond` receives the sender's view
   * before any push or ack goes out, so the device learns about its message before acks for it.
   */
  #send(input: SendInput, origin?: Device, respond?: (message: WireMessage) => void): WireMessage {
    const sender = this.#views.requireAccount(input.from);
    const to = input.to.includes('@') ? input.to : `${input.to.replace(/\D/g, '')}@c.us`;
    const key = input.key ?? newMessageKey();
    const existing = this.#messages.get(key);
    if (existing) {
      if (existing.from !== sender.phone) throw new SimnetError('duplicate_key', `message key ${key} is taken`, 409);
      const view = this.#views.message(existing, sender.phone);
      respond?.(view);
      return view;
    }
    const recipients = this.#views.recipients(sender.phone, to);
    const content = this.media.content(input.content, input.body);
    const quotedKey = input.quotedMessageId === undefined ? undefined : keyOf(input.quotedMessageId);
    const quoted = quotedKey === undefined ? undefined : this.#messages.get(quotedKey);
    const message: StoredMessage = {
      key,
      from: sender.phone,
      to,
      isGroup: to.endsWith('@g.us'),
      body: content?.vcard ?? input.body,
      ...(content ? { content } : {}),
      timestamp: Date.now(),
      status: new Map(recipients.map((phone) => [phone, 1])),
      ack: 1,
      ...(input.forwarded ? { forwarded: true } : {}),
    };
    // Quoting only works within the same conversation; other ids are ignored (as WhatsApp Web does).
    if (quoted && chatIdFor(quoted, message.from) === message.to) message.quotedKey = quoted.key;
    this.#messages.set(key, message);

    this.#touchChat(sender.phone, to, message.timestamp, false);
    const senderView = this.#views.message(message, sender.phone);
    respond?.(senderView);
    for (const id of sender.devices) {
      const device = this.#devices.get(id);
      if (device && device !== origin) this.#push(device, { kind: 'message', message: senderView });
    }
    for (const phone of recipients) {
      const account = this.#views.requireAccount(phone);
      const chatId = message.isGroup ? to : userId(sender.phone);
      this.#ensurePeer(phone, sender.phone);
      this.#touchChat(phone, chatId, message.timestamp, true);
      if (account.devices.size === 0) {
        message.status.set(phone, 2);
        continue;
      }
      const view = this.#views.message(message, phone);
      for (const id of account.devices) {
        const device = this.#devices.get(id);
        if (device) this.#push(device, { kind: 'message', message: view }, key);
      }
    }
    this.#reportAck(message);
    return senderView;
  }

  /** See {@link NetworkSync.markRead}. */
  markRead(phone: string, chatId: string): number {
    return this.sync.markRead(phone, chatId);
  }

  /** Messages account `phone` received (not its own), oldest first, as it sees them. */
  received(phone: string): WireMessage[] {
    return this.#views.received(phone);
  }

  /** Messages account `phone` sent (from its phone or its devices), oldest first, as it sees them (acks included). */
  sent(phone: string): WireMessage[] {
    return this.#views.sent(phone);
  }

  /** The newest `limit` messages of chat `chatId` as account `phone` sees them, oldest first (WhatsApp Web's
   * `fetchMessages({ limit })`). @throws SimnetError `account_not_found` / `chat_not_found` (404). */
  history(phone: string, chatId: string, limit: number): WireMessage[] {
    return this.#views.history(phone, chatId, limit);
  }

  /** Contacts of account `phone`: every other user on the network (its address book here) and its groups. */
  contacts(phone: string): WireContact[] {
    return this.#views.contacts(phone);
  }

  /** Chats of account `phone`, most recent first. */
  chats(phone: string): WireChat[] {
    return this.#views.chats(phone);
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────────────────────

  /** Raises recipient `phone`'s state of message `key` to `state` and reports a changed ack to the sender. */
  #advance(key: string, phone: string, state: 2 | 3): void {
    const message = this.#messages.get(key);
    const current = message?.status.get(phone);
    if (!message || current === undefined || current >= state) return;
    message.status.set(phone, state);
    this.#reportAck(message);
  }

  #reportAck(message: StoredMessage): void {
    const states = [...message.status.values()];
    const ack = (states.length === 0 ? 1 : Math.min(...states)) as Ack;
    if (ack <= message.ack) return;
    message.ack = ack;
    const chatId = message.to;
    this.#pushToAccount(message.from, { kind: 'ack', id: `true_${chatId}_${message.key}`, chatId, ack });
  }

  /** Pushes `event` to the devices of account `phone`; `live`: to the connected ones only, unqueued. */
  #pushToAccount(phone: string, event: PushEvent, live = false): void {
    for (const id of this.#accounts.get(phone)?.devices ?? []) {
      const device = this.#devices.get(id);
      if (device && live) device.link?.send({ type: 'push', seq: device.nextSeq++, event });
      else if (device) this.#push(device, event);
    }
  }

  /** Queues `event` for `device` and sends it now when the device is connected. */
  #push(device: Device, event: PushEvent, deliveryKey?: string): void {
    const seq = device.nextSeq++;
    device.queue.set(seq, deliveryKey === undefined ? { event } : { event, deliveryKey });
    device.link?.send({ type: 'push', seq, event });
  }

  /**
   * Makes sure account `phone` has chat `chatId` and applies `update` to it. A new chat (and its group or peer
   * contact) is pushed to the account's devices; updates of existing chats are not.
   */
  #ensureChat(phone: string, chatId: string, update?: (chat: ChatRecord) => void): ChatRecord {
    const account = this.#views.requireAccount(phone);
    let chat = account.chats.get(chatId);
    if (chat) {
      update?.(chat);
      return chat;
    }
    chat = { id: chatId, unread: 0 };
    update?.(chat);
    account.chats.set(chatId, chat);
    const group = this.#groups.get(chatId);
    if (group) this.#pushToAccount(phone, { kind: 'contact', contact: groupContact(group) });
    else {
      const peer = phoneOf(chatId);
      if (peer !== undefined) this.#ensurePeer(phone, peer);
    }
    this.#pushToAccount(phone, { kind: 'chat', chat: this.#views.chat(phone, chat) });
    return chat;
  }

  /** Makes sure account `phone` has seen user `peer`; a new peer's contact is pushed to its devices. */
  #ensurePeer(phone: string, peer: string): void {
    const account = this.#views.requireAccount(phone);
    const id = userId(peer);
    if (peer === phone || account.peers.has(id)) return;
    account.peers.add(id);
    this.#pushToAccount(phone, { kind: 'contact', contact: this.#views.userContact(peer) });
  }

  /** A message in the chat: its time, and for a received one its unread count (pushed, like `unread_count`). */
  #touchChat(phone: string, chatId: string, at: number, unread: boolean): void {
    const existed = this.#accounts.get(phone)?.chats.has(chatId) ?? false;
    const chat = this.#ensureChat(phone, chatId, (c) => {
      c.lastMessageAt = at;
      if (unread) c.unread++;
    });
    if (existed && unread) this.#pushToAccount(phone, { kind: 'chat', chat: this.#views.chat(phone, chat) });
  }
}
