/**
 * The simulated network's records (accounts, devices, groups, stored messages), its error type and the id helpers
 * shared by the network and the pending logins. In memory only.
 */
import { randomBytes } from 'node:crypto';
import type { StoredContent } from './media.js';
import type { Ack, MessageContent, PushEvent, ServerFrame, WireContact } from './protocol.js';

/** One device connection as the network sees it. */
export interface Link {
  send(frame: ServerFrame): void;
  close(): void;
  /** Breaks the connection without a close handshake (a network drop), or closes it with `code` and `reason`. */
  drop(code?: number, reason?: string): void;
}

export interface NetworkOptions {
  /** How long each QR is valid before the next one replaces it, ms. Default 20 000 (WhatsApp Web's pace). */
  qrIntervalMs?: number | undefined;
  /** QRs shown before a login times out (a pairing code lives as long). Default 6. */
  qrMaxCount?: number | undefined;
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

export interface ChatRecord {
  id: string;
  unread: number;
  /** Epoch ms. */
  lastMessageAt?: number;
  /** Flags the account set on its phone (sync after login). */
  archived?: boolean;
  pinned?: boolean;
  muted?: boolean;
}

export interface Account {
  phone: string;
  pushname?: string;
  /** Ids of linked devices. */
  devices: Set<string>;
  /** Chats by chat id, as this account sees them. */
  chats: Map<string, ChatRecord>;
  /** User ids this account has seen (a `contact` push went out for each). */
  peers: Set<string>;
}

export interface QueuedPush {
  event: PushEvent;
  /** For a received message: its key, so the device's confirmation counts as delivery. */
  deliveryKey?: string;
}

export interface Device {
  id: string;
  token: string;
  phone: string;
  link?: Link;
  /** Pushes not yet confirmed, by sequence number. */
  queue: Map<number, QueuedPush>;
  nextSeq: number;
}

export interface Group {
  id: string;
  name: string;
  owner: string;
  /** Participants' phones, owner included. */
  participants: string[];
  /** Admins' phones besides the owner (who is always one while a participant). */
  admins?: string[];
  description?: string;
  /** The invite code, once asked for (`group-admin.ts`). */
  inviteCode?: string;
  /** Epoch ms. */
  createdAt?: number;
}

export interface StoredMessage {
  key: string;
  from: string;
  /** Target chat as the sender sees it: the recipient's user id or the group id. */
  to: string;
  isGroup: boolean;
  body: string;
  /** Epoch ms. */
  timestamp: number;
  quotedKey?: string;
  /** Forwarded from another chat. */
  forwarded?: boolean;
  /** Epoch ms of the last edit (`actions.ts`). */
  editedAt?: number;
  /** Epoch ms of the delete for everyone; the body is gone then. */
  revokedAt?: number;
  /** Reactions by sender phone. */
  reactions?: Map<string, { reaction: string; timestamp: number }>;
  /** A media file, location or contact card (absent for a text). */
  content?: StoredContent;
  /** Per-recipient state (recipients = everyone in the chat but the sender). */
  status: Map<string, 1 | 2 | 3>;
  /** Ack last reported to the sender. */
  ack: Ack;
}

/** A message to send; `from` is the sender's phone, `to` a phone or chat id. */
export interface SendInput {
  from: string;
  to: string;
  body: string;
  /** Sender-assigned key; generated when absent. */
  key?: string;
  quotedMessageId?: string;
  /** Mark the message as forwarded. */
  forwarded?: boolean;
  /** A media file (uploaded first), location or contact card; the body is then the caption. */
  content?: MessageContent | undefined;
}

/** 20 uppercase hex characters, like the keys WhatsApp clients assign. */
export function newMessageKey(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

/** `15551234567` → `15551234567@c.us`. */
export const userId = (phone: string): string => `${phone}@c.us`;

/** `123@c.us` → `123`; anything else → undefined. */
export function phoneOf(chatId: string): string | undefined {
  return /^(\d+)@c\.us$/.exec(chatId)?.[1];
}

/** The key of a serialized message id `<fromMe>_<chatId>_<KEY>[_<participant>]`. */
export function keyOf(serializedId: string): string | undefined {
  return /^(?:true|false)_[^_]+_([0-9A-F]+)(?:_|$)/.exec(serializedId)?.[1];
}

/** The chat a message belongs to, as account `phone` sees it: the group, else the other party. */
export function chatIdFor(message: StoredMessage, phone: string): string {
  if (message.isGroup || message.from === phone) return message.to;
  return userId(message.from);
}

/** A group as every participant sees it. */
export function groupContact(group: Group): WireContact {
  return { id: group.id, name: group.name, isGroup: true, participants: group.participants.map(userId) };
}
