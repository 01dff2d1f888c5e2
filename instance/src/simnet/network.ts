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
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Ack, EngineAccount, EngineChat, EngineContact, EngineMessage } from '../engine.js';
import type { ClientFrame, PushEvent, RequestFrame, ResultMap, ServerFrame } from './protocol.js';

/** One device connection as the network sees it. */
export interface Link {
  send(frame: ServerFrame): void;
  close(): void;
}

export interface NetworkOptions {
  /** How long each QR is valid before the next one replaces it, ms. Default 20 000 (WhatsApp Web's pace). */
  qrIntervalMs?: number;
  /** QRs shown before a login times out (a pairing code lives as long). Default 6. */
  qrMaxCount?: number;
}

/** A failure of a network operation with a stable code and the HTTP status a hook answers with. */
export class SimnetError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly status = 404,
  ) {
    super(message);
    this.name = 'SimnetError';
  }
}

interface ChatRecord {
  id: string;
  unread: number;
  lastMessageAt?: number;
}

interface Account {
  phone: string;
  pushname?: string;
  /** Ids of linked devices. */
  devices: Set<string>;
  /** Chats by chat id, as this account sees them. */
  chats: Map<string, ChatRecord>;
  /** User ids this account has seen (a `contact` push went out for each). */
  peers: Set<string>;
}

interface QueuedPush {
  event: PushEvent;
  /** For a received message: its key, so the device's confirmation counts as delivery. */
  deliveryKey?: string;
}

interface Device {
  id: string;
  token: string;
  phone: string;
  link?: Link;
  queue: Map<number, QueuedPush>;
  nextSeq: number;
}

interface Group {
  id: string;
  name: string;
  owner: string;
  /** Participants' phones, owner included. */
  participants: string[];
}

interface StoredMessage {
  key: string;
  from: string;
  /** Target chat as the sender sees it: the recipient's user id or the group id. */
  to: string;
  isGroup: boolean;
  body: string;
  timestamp: number;
  quotedKey?: string;
  /** Per-recipient state (recipients = everyone in the chat but the sender). */
  status: Map<string, 1 | 2 | 3>;
  /** Ack last reported to the sender. */
  ack: Ack;
}

interface Login {
  link: Link;
  /** Phone of a pairing-code login. */
  phone?: string;
  qr?: string;
  code?: string;
  shown: number;
  timer: NodeJS.Timeout;
}

/** A message to send; `from` is the sender's phone, `to` a phone or chat id. */
export interface SendInput {
  from: string;
  to: string;
  body: string;
  /** Sender-assigned key; generated when absent. */
  key?: string;
  quotedMessageId?: string;
}

const PAIRING_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';

/** `2@<ref>,<noise key>,<identity key>,<adv secret>` like WhatsApp Web's QR payload. */
function newQr(): string {
  const b64 = (n: number) => randomBytes(n).toString('base64');
  return `2@${b64(66)},${b64(32)},${b64(32)},${b64(32)}`;
}

function newPairingCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)];
  return code;
}

/** 20 uppercase hex characters, like the keys WhatsApp clients assign. */
export function newMessageKey(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

const userId = (phone: string) => `${phone}@c.us`;

/** `123@c.us` → `123`; anything else → undefined. */
function phoneOf(chatId: string): string | undefined {
  return /^(\d+)@c\.us$/.exec(chatId)?.[1];
}

/** The key of a serialized message id `<fromMe>_<chatId>_<KEY>[_<participant>]`. */
function keyOf(serializedId: string): string | undefined {
  return /^(?:true|false)_[^_]+_([0-9A-F]+)(?:_|$)/.exec(serializedId)?.[1];
}

export class SimNetwork {
  readonly #qrIntervalMs: number;
  readonly #qrMaxCount: number;
  readonly #accounts = new Map<string, Account>();
  readonly #devices = new Map<string, Device>();
  readonly #groups = new Map<string, Group>();
  readonly #messages = new Map<string, StoredMessage>();
  readonly #logins = new Map<Link, Login>();
  readonly #deviceOfLink = new Map<Link, Device>();

  constructor(options: NetworkOptions = {}) {
    this.#qrIntervalMs = options.qrIntervalMs ?? 20_000;
    this.#qrMaxCount = options.qrMaxCount ?? 6;
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
    const login = this.#logins.get(link);
    if (login) this.#endLogin(login);
    const device = this.#deviceOfLink.get(link);
    if (device) {
      this.#deviceOfLink.delete(link);
      if (device.link === link) delete device.link;
    }
  }

  /** Stops all timers (server shutdown). */
  close(): void {
    for (const login of [...this.#logins.values()]) this.#endLogin(login);
  }

  #beginLogin(link: Link, phone: string | undefined): void {
    if (this.#deviceOfLink.has(link) || this.#logins.has(link)) {
      return link.send({ type: 'error', error: { code: 'bad_state', message: 'this connection is already logging in or linked' } });
    }
    const lifetimeMs = this.#qrIntervalMs * this.#qrMaxCount;
    if (phone !== undefined) {
      const login: Login = {
        link,
        phone,
        code: newPairingCode(),
        shown: 1,
        timer: setTimeout(() => this.#failLogin(login, `pairing code not confirmed within ${lifetimeMs} ms`), lifetimeMs),
      };
      this.#logins.set(link, login);
      link.send({ type: 'pairing_code', code: login.code!, expiresInMs: lifetimeMs });
      return;
    }
    const login: Login = {
      link,
      qr: newQr(),
      shown: 1,
      timer: setInterval(() => {
        if (login.shown >= this.#qrMaxCount) {
          this.#failLogin(login, `QR code not scanned in time (${login.shown} codes shown, ${lifetimeMs} ms)`);
          return;
        }
        login.qr = newQr();
        login.shown++;
        link.send({ type: 'qr', qr: login.qr, expiresInMs: this.#qrIntervalMs });
      }, this.#qrIntervalMs),
    };
    this.#logins.set(link, login);
    link.send({ type: 'qr', qr: login.qr!, expiresInMs: this.#qrIntervalMs });
  }

  #failLogin(login: Login, reason: string): void {
    this.#endLogin(login);
    login.link.send({ type: 'login_failed', reason });
  }

  #endLogin(login: Login): void {
    clearTimeout(login.timer);
    this.#logins.delete(login.link);
  }

  #resume(link: Link, deviceId: string, token: string): void {
    const device = this.#devices.get(deviceId);
    if (!device || device.token !== token) {
      link.send({ type: 'session_invalid', reason: 'this device is not linked (logged out or unknown to the network)' });
      return;
    }
    const previous = device.link;
    if (previous && previous !== link) {
      this.#deviceOfLink.delete(previous);
      previous.send({ type: 'conflict', reason: 'this session was opened by another connection' });
      previous.close();
    }
    this.#bind(link, device);
    link.send({ type: 'resumed', account: this.#accountView(device.phone) });
    for (const [seq, queued] of device.queue) link.send({ type: 'push', seq, event: queued.event });
  }

  #bind(link: Link, device: Device): void {
    device.link = link;
    this.#deviceOfLink.set(link, device);
  }

  /** Links a new device of account `phone` to the connection that showed the QR/code. */
  #link(login: Login, phone: string, pushname: string | undefined): EngineAccount {
    this.#endLogin(login);
    const account = this.#ensureAccount(phone, pushname);
    const device: Device = { id: randomUUID(), token: randomBytes(24).toString('base64url'), phone, queue: new Map(), nextSeq: 1 };
    this.#devices.set(device.id, device);
    account.devices.add(device.id);
    this.#bind(login.link, device);
    const view = this.#accountView(phone);
    login.link.send({ type: 'authenticated', account: view, session: { deviceId: device.id, token: device.token } });
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
    const fail = (code: string, message: string) => link.send({ type: 'response', reqId: frame.reqId, ok: false, error: { code, message } });
    if (!device) return fail('not_authenticated', 'this connection is not a linked device');
    const reply = <T extends keyof ResultMap>(result: ResultMap[T]) => link.send({ type: 'response', reqId: frame.reqId, ok: true, result });
    try {
      switch (frame.type) {
        case 'send': {
          const input: SendInput = { from: device.phone, to: frame.to, body: frame.body, key: frame.key };
          if (frame.quotedMessageId !== undefined) input.quotedMessageId = frame.quotedMessageId;
          this.#send(input, device, (message) => reply<'send'>({ message }));
          return;
        }
        case 'contacts':
          return reply<'contacts'>({ contacts: this.contacts(device.phone) });
        case 'chats':
          return reply<'chats'>({ chats: this.chats(device.phone) });
        case 'logout':
          this.#unlinkDevice(device);
          return reply<'logout'>({});
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
  registerAccount(phone: string, pushname?: string): EngineAccount {
    this.#ensureAccount(phone, pushname);
    return this.#accountView(phone);
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
  account(phone: string): EngineAccount {
    this.#requireAccount(phone);
    return this.#accountView(phone);
  }

  /** Pending logins (what devices show right now), for demos and tests. */
  pendingLogins(): Array<{ qr?: string; code?: string; phone?: string }> {
    return [...this.#logins.values()].map((l) => ({ qr: l.qr, code: l.code, phone: l.phone }));
  }

  /**
   * The phone with number `phone` scans `qr`: the device showing it is linked to that account (created if new).
   * @throws SimnetError `qr_not_found` (404) unless `qr` is the QR a device shows right now.
   */
  scan(qr: string, phone: string, pushname?: string): EngineAccount {
    const login = [...this.#logins.values()].find((l) => l.qr === qr);
    if (!login) throw new SimnetError('qr_not_found', 'no device shows this QR (expired, already scanned or never issued)');
    return this.#link(login, phone, pushname);
  }

  /**
   * The phone confirms pairing `code` (with or without the dash, any case).
   * @throws SimnetError `code_not_found` (404).
   */
  pair(code: string, pushname?: string): EngineAccount {
    const normalized = code.replace(/[-\s]/g, '').toUpperCase();
    const login = [...this.#logins.values()].find((l) => l.code === normalized);
    if (!login?.phone) throw new SimnetError('code_not_found', 'no device waits for this pairing code');
    return this.#link(login, login.phone, pushname);
  }

  /** Unlinks every device of the account ("Linked devices → Log out" on the phone). Returns how many. */
  unlink(phone: string): number {
    const account = this.#requireAccount(phone);
    const devices = [...account.devices].flatMap((id) => this.#devices.get(id) ?? []);
    for (const device of devices) {
      const link = device.link;
      this.#unlinkDevice(device);
      link?.send({ type: 'logged_out', reason: 'device unlinked from the phone' });
    }
    return devices.length;
  }

  /**
   * Creates a group; the owner is a participant.
   * @throws SimnetError `account_not_found` (404) for an unknown owner or participant.
   */
  createGroup(name: string, owner: string, participants: string[]): EngineContact {
    const phones = [...new Set([owner, ...participants])];
    for (const phone of phones) this.#requireAccount(phone);
    let id: string;
    do id = `120363${randomInt(100_000_000, 999_999_999)}${randomInt(100_000, 999_999)}@g.us`;
    while (this.#groups.has(id));
    const group: Group = { id, name, owner, participants: phones };
    this.#groups.set(id, group);
    for (const phone of phones) {
      this.#ensureChat(phone, id);
      for (const other of phones) if (other !== phone) this.#ensurePeer(phone, other);
    }
    return this.#groupContact(group);
  }

  /**
   * Sends a text message from account `from`'s phone to `to` (phone or chat id) and delivers it; the account's
   * linked devices get it as a fromMe message. Returns the sender's view (ack as of now).
   * @throws SimnetError `account_not_found`, `number_not_on_whatsapp`, `chat_not_found` (404), `duplicate_key` (409).
   */
  send(input: SendInput): EngineMessage {
    return this.#send(input);
  }

  /**
   * {@link send} from device `origin` (it gets no copy of its own message); `respond` receives the sender's view
   * before any push or ack goes out, so the device learns about its message before acks for it.
   */
  #send(input: SendInput, origin?: Device, respond?: (message: EngineMessage) => void): EngineMessage {
    const sender = this.#requireAccount(input.from);
    const to = input.to.includes('@') ? input.to : `${input.to.replace(/\D/g, '')}@c.us`;
    const key = input.key ?? newMessageKey();
    const existing = this.#messages.get(key);
    if (existing) {
      if (existing.from !== sender.phone) throw new SimnetError('duplicate_key', `message key ${key} is taken`, 409);
      const view = this.#view(existing, sender.phone);
      respond?.(view);
      return view;
    }
    const recipients = this.#recipients(sender.phone, to);
    const quotedKey = input.quotedMessageId === undefined ? undefined : keyOf(input.quotedMessageId);
    const quoted = quotedKey === undefined ? undefined : this.#messages.get(quotedKey);
    const message: StoredMessage = {
      key,
      from: sender.phone,
      to,
      isGroup: to.endsWith('@g.us'),
      body: input.body,
      timestamp: Date.now(),
      status: new Map(recipients.map((phone) => [phone, 1])),
      ack: 1,
    };
    // Quoting only works within the same conversation; other ids are ignored (as WhatsApp Web does).
    if (quoted && this.#sameConversation(quoted, message)) message.quotedKey = quoted.key;
    this.#messages.set(key, message);

    this.#touchChat(sender.phone, to, message.timestamp, false);
    const senderView = this.#view(message, sender.phone);
    respond?.(senderView);
    for (const id of sender.devices) {
      const device = this.#devices.get(id);
      if (device && device !== origin) this.#push(device, { kind: 'message', message: senderView });
    }
    for (const phone of recipients) {
      const account = this.#requireAccount(phone);
      const chatId = message.isGroup ? to : userId(sender.phone);
      this.#ensurePeer(phone, sender.phone);
      this.#touchChat(phone, chatId, message.timestamp, true);
      if (account.devices.size === 0) {
        message.status.set(phone, 2);
        continue;
      }
      const view = this.#view(message, phone);
      for (const id of account.devices) {
        const device = this.#devices.get(id);
        if (device) this.#push(device, { kind: 'message', message: view }, key);
      }
    }
    this.#reportAck(message);
    return senderView;
  }

  /**
   * Account `phone` reads chat `chatId` on its phone: its received messages there become read (ack 3 to their
   * senders) and the chat's unread count drops to 0 on its devices.
   * @throws SimnetError `account_not_found` / `chat_not_found` (404).
   */
  markRead(phone: string, chatId: string): number {
    const account = this.#requireAccount(phone);
    const id = chatId.includes('@') ? chatId : `${chatId.replace(/\D/g, '')}@c.us`;
    const chat = account.chats.get(id);
    if (!chat) throw new SimnetError('chat_not_found', `account ${phone} has no chat ${id}`);
    let read = 0;
    for (const message of this.#messages.values()) {
      const state = message.status.get(phone);
      if (state === undefined || state === 3 || this.#chatIdFor(message, phone) !== id) continue;
      read++;
      this.#advance(message.key, phone, 3);
    }
    if (chat.unread !== 0) {
      chat.unread = 0;
      this.#pushToAccount(phone, { kind: 'chat', chat: this.#chatView(phone, chat) });
    }
    return read;
  }

  /** Messages account `phone` received (not its own), oldest first, as it sees them. */
  received(phone: string): EngineMessage[] {
    this.#requireAccount(phone);
    return [...this.#messages.values()].filter((m) => m.status.has(phone)).map((m) => this.#view(m, phone));
  }

  /** Contacts of account `phone`: every other user on the network (its address book here) and its groups. */
  contacts(phone: string): EngineContact[] {
    const account = this.#requireAccount(phone);
    const users = [...this.#accounts.values()].filter((a) => a.phone !== phone).map((a) => this.#userContact(a.phone));
    const groups = [...account.chats.keys()].flatMap((id) => {
      const group = this.#groups.get(id);
      return group ? [this.#groupContact(group)] : [];
    });
    return [...users, ...groups];
  }

  /** Chats of account `phone`, most recent first. */
  chats(phone: string): EngineChat[] {
    const account = this.#requireAccount(phone);
    return [...account.chats.values()]
      .sort((a, b) => (b.lastMessageAt ?? 0) - (a.lastMessageAt ?? 0))
      .map((chat) => this.#chatView(phone, chat));
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────────────────────

  #requireAccount(phone: string): Account {
    const account = this.#accounts.get(phone);
    if (!account) throw new SimnetError('account_not_found', `no account with phone ${phone}`);
    return account;
  }

  /** Phones that receive a message from `from` to chat `to`. */
  #recipients(from: string, to: string): string[] {
    if (to.endsWith('@g.us')) {
      const group = this.#groups.get(to);
      if (!group || !group.participants.includes(from)) throw new SimnetError('chat_not_found', `no group ${to} with ${from} as a member`);
      return group.participants.filter((p) => p !== from);
    }
    const phone = phoneOf(to);
    if (phone === undefined) throw new SimnetError('chat_not_found', `${to} is not a chat id`);
    if (!this.#accounts.has(phone)) throw new SimnetError('number_not_on_whatsapp', `${phone} is not on WhatsApp`);
    return phone === from ? [] : [phone];
  }

  #sameConversation(a: StoredMessage, b: StoredMessage): boolean {
    return this.#chatIdFor(a, b.from) === b.to;
  }

  /** The chat a message belongs to, as account `phone` sees it. */
  #chatIdFor(message: StoredMessage, phone: string): string {
    if (message.isGroup || message.from === phone) return message.to;
    return userId(message.from);
  }

  #view(message: StoredMessage, phone: string): EngineMessage {
    const fromMe = message.from === phone;
    const chatId = this.#chatIdFor(message, phone);
    const quoted = message.quotedKey === undefined ? undefined : this.#messages.get(message.quotedKey);
    return {
      id: `${fromMe}_${chatId}_${message.key}`,
      chatId,
      author: userId(message.from),
      fromMe,
      isGroup: message.isGroup,
      type: 'chat',
      body: message.body,
      timestamp: message.timestamp,
      ack: fromMe ? message.ack : (message.status.get(phone) ?? 1),
      quotedMessageId: quoted ? this.#view(quoted, phone).id : undefined,
    };
  }

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

  #pushToAccount(phone: string, event: PushEvent): void {
    for (const id of this.#accounts.get(phone)?.devices ?? []) {
      const device = this.#devices.get(id);
      if (device) this.#push(device, event);
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
    const account = this.#requireAccount(phone);
    let chat = account.chats.get(chatId);
    if (chat) {
      update?.(chat);
      return chat;
    }
    chat = { id: chatId, unread: 0 };
    update?.(chat);
    account.chats.set(chatId, chat);
    const group = this.#groups.get(chatId);
    if (group) this.#pushToAccount(phone, { kind: 'contact', contact: this.#groupContact(group) });
    else {
      const peer = phoneOf(chatId);
      if (peer !== undefined) this.#ensurePeer(phone, peer);
    }
    this.#pushToAccount(phone, { kind: 'chat', chat: this.#chatView(phone, chat) });
    return chat;
  }

  /** Makes sure account `phone` has seen user `peer`; a new peer's contact is pushed to its devices. */
  #ensurePeer(phone: string, peer: string): void {
    const account = this.#requireAccount(phone);
    const id = userId(peer);
    if (peer === phone || account.peers.has(id)) return;
    account.peers.add(id);
    this.#pushToAccount(phone, { kind: 'contact', contact: this.#userContact(peer) });
  }

  #touchChat(phone: string, chatId: string, at: number, unread: boolean): void {
    this.#ensureChat(phone, chatId, (chat) => {
      chat.lastMessageAt = at;
      if (unread) chat.unread++;
    });
  }

  #chatView(phone: string, chat: ChatRecord): EngineChat {
    const group = this.#groups.get(chat.id);
    const peer = phoneOf(chat.id);
    const name = group ? group.name : peer === undefined ? undefined : this.#accounts.get(peer)?.pushname;
    return { id: chat.id, name, isGroup: Boolean(group), unreadCount: chat.unread, lastMessageAt: chat.lastMessageAt };
  }

  #userContact(phone: string): EngineContact {
    const pushname = this.#accounts.get(phone)?.pushname;
    return { id: userId(phone), number: phone, name: pushname, pushname, isGroup: false, isMyContact: true };
  }

  #groupContact(group: Group): EngineContact {
    return { id: group.id, name: group.name, isGroup: true, participants: group.participants.map(userId) };
  }

  #accountView(phone: string): EngineAccount {
    return { id: userId(phone), phone, pushname: this.#accounts.get(phone)?.pushname };
  }
}
