/**
 * The read side of the simulated network: what one account sees of the shared state — its messages (with its own
 * ack view), chat history, contacts and chats — in the wire shapes of `protocol.ts`. Holds no state of its own; the
 * maps are {@link SimNetwork}'s.
 */
import {
  SimnetError,
  chatIdFor,
  groupContact,
  phoneOf,
  userId,
  type Account,
  type ChatRecord,
  type Group,
  type StoredMessage,
} from './model.js';
import type { WireAccount, WireChat, WireContact, WireGroup, WireMessage } from './protocol.js';

export class NetworkViews {
  constructor(
    private readonly accounts: ReadonlyMap<string, Account>,
    private readonly groups: ReadonlyMap<string, Group>,
    private readonly messages: ReadonlyMap<string, StoredMessage>,
  ) {}

  /** @throws SimnetError `account_not_found` (404). */
  requireAccount(phone: string): Account {
    const account = this.accounts.get(phone);
    if (!account) throw new SimnetError('account_not_found', `no account with phone ${phone}`);
    return account;
  }

  /**
   * Phones that receive a message from `from` to chat `to`.
   * @throws SimnetError `chat_not_found` (404), `number_not_on_whatsapp` (404).
   */
  recipients(from: string, to: string): string[] {
    if (to.endsWith('@g.us')) {
      const group = this.groups.get(to);
      if (!group || !group.participants.includes(from)) throw new SimnetError('chat_not_found', `no group ${to} with ${from} as a member`);
      return group.participants.filter((p) => p !== from);
    }
    const phone = phoneOf(to);
    if (phone === undefined) throw new SimnetError('chat_not_found', `${to} is not a chat id`);
    if (!this.accounts.has(phone)) throw new SimnetError('number_not_on_whatsapp', `${phone} is not on WhatsApp`);
    return phone === from ? [] : [phone];
  }

  /** Messages account `phone` received (not its own), oldest first, as it sees them. */
  received(phone: string): WireMessage[] {
    this.requireAccount(phone);
    return [...this.messages.values()].filter((m) => m.status.has(phone)).map((m) => this.message(m, phone));
  }

  /** Messages account `phone` sent (from its phone or its devices), oldest first, as it sees them (acks included). */
  sent(phone: string): WireMessage[] {
    this.requireAccount(phone);
    return [...this.messages.values()].filter((m) => m.from === phone).map((m) => this.message(m, phone));
  }

  /**
   * The newest `limit` messages of chat `chatId` as account `phone` sees them, oldest first.
   * @throws SimnetError `account_not_found` / `chat_not_found` (404).
   */
  history(phone: string, chatId: string, limit: number): WireMessage[] {
    const account = this.requireAccount(phone);
    const id = chatId.includes('@') ? chatId : `${chatId.replace(/\D/g, '')}@c.us`;
    if (!account.chats.has(id)) throw new SimnetError('chat_not_found', `account ${phone} has no chat ${id}`);
    const inChat: StoredMessage[] = [];
    for (const m of this.messages.values()) {
      if ((m.from === phone || m.status.has(phone)) && chatIdFor(m, phone) === id) inChat.push(m);
    }
    return inChat.slice(-limit).map((m) => this.message(m, phone));
  }

  /** Contacts of account `phone`: every other user on the network (its address book here) and its groups. */
  contacts(phone: string): WireContact[] {
    const account = this.requireAccount(phone);
    const users = [...this.accounts.values()].filter((a) => a.phone !== phone).map((a) => this.userContact(a.phone));
    const groups = [...account.chats.keys()].flatMap((id) => {
      const group = this.groups.get(id);
      return group ? [groupContact(group)] : [];
    });
    return [...users, ...groups];
  }

  /** Chats of account `phone`, most recent first, with their newest message. */
  chats(phone: string): WireChat[] {
    const account = this.requireAccount(phone);
    const last = new Map<string, StoredMessage>();
    for (const m of this.messages.values()) if (m.from === phone || m.status.has(phone)) last.set(chatIdFor(m, phone), m);
    return [...account.chats.values()]
      .sort((a, b) => (b.lastMessageAt ?? 0) - (a.lastMessageAt ?? 0))
      .map((chat) => {
        const m = last.get(chat.id);
        if (!m) return this.chat(phone, chat);
        const { id, author, fromMe, type, body, timestamp } = this.message(m, phone);
        return { ...this.chat(phone, chat), lastMessage: { id, author, fromMe, type, body, timestamp } };
      });
  }

  /** Group `group` as its members see it. */
  group(group: Group): WireGroup {
    const admins = new Set([group.owner, ...(group.admins ?? [])]);
    return {
      id: group.id,
      subject: group.name,
      description: group.description,
      owner: userId(group.owner),
      createdAt: group.createdAt,
      participants: group.participants.map((p) => ({ id: userId(p), isAdmin: admins.has(p), isSuperAdmin: p === group.owner })),
    };
  }

  /** `message` as account `phone` sees it: its chat id, whether it is its own, its ack. */
  message(message: StoredMessage, phone: string): WireMessage {
    const fromMe = message.from === phone;
    const chatId = chatIdFor(message, phone);
    const quoted = message.quotedKey === undefined ? undefined : this.messages.get(message.quotedKey);
    return {
      id: `${fromMe}_${chatId}_${message.key}`,
      chatId,
      author: userId(message.from),
      fromMe,
      isGroup: message.isGroup,
      type: message.revokedAt === undefined ? (message.content?.type ?? 'chat') : 'revoked',
      body: message.body,
      ...(message.content?.media ? { media: message.content.media } : {}),
      ...(message.content?.location ? { location: message.content.location } : {}),
      ...(message.content?.vcard ? { vcard: message.content.vcard } : {}),
      timestamp: message.timestamp,
      ack: fromMe ? message.ack : (message.status.get(phone) ?? 1),
      quotedMessageId: quoted ? this.message(quoted, phone).id : undefined,
      ...(message.forwarded ? { isForwarded: true } : {}),
    };
  }

  /** Chat `chat` of account `phone`, named after its group or its peer's pushname. */
  chat(phone: string, chat: ChatRecord): WireChat {
    const group = this.groups.get(chat.id);
    const peer = phoneOf(chat.id);
    const name = group ? group.name : peer === undefined ? undefined : this.accounts.get(peer)?.pushname;
    return {
      id: chat.id,
      name,
      isGroup: Boolean(group),
      unreadCount: chat.unread,
      lastMessageAt: chat.lastMessageAt,
      archived: chat.archived ?? false,
      pinned: chat.pinned ?? false,
      muted: chat.muted ?? false,
    };
  }

  /** The contact card of user `phone`. */
  userContact(phone: string): WireContact {
    const pushname = this.accounts.get(phone)?.pushname;
    return { id: userId(phone), number: phone, name: pushname, pushname, isGroup: false, isMyContact: true };
  }

  /** Public view of account `phone`. */
  account(phone: string): WireAccount {
    return { id: userId(phone), phone, pushname: this.accounts.get(phone)?.pushname };
  }
}
