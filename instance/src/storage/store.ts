/**
 * MongoDB models of the instance's own database (mongoose). One collection per kind:
 * messages, contacts, chats, tokens, outbox (webhook events), settings, outgoing (the send queue).
 *
 * Designed for FerretDB v1 as well as MongoDB: no transactions, change streams, TTL indexes or `$lookup`;
 * atomic single-document updates and unique `_id`s carry every invariant.
 */
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import type { EngineLocation, EngineMediaInfo, MediaType } from '../engines/engine-media.js';
import type { EngineChat, EngineContact, EngineMessage } from '../engines/engine.js';
import type { StoredMediaRef } from './media.js';

/**
 * Where a message's media file is: `pending` (to download), `stored` (in GridFS, `fileId`), `unavailable` (WhatsApp no
 * longer has it), `quota_exceeded`, `failed`.
 */
export type MediaStatus = 'pending' | 'stored' | 'unavailable' | 'quota_exceeded' | 'failed';

/** A stored message's media: what the engine said, and where the file is. */
export interface MessageMediaDoc extends EngineMediaInfo {
  status?: MediaStatus | undefined;
  /** GridFS file id, once stored. */
  fileId?: string | undefined;
}

/**
 * Who sent a message through the API: the token, and the team member the main backend's gateway sent it for
 * (`http/sender.ts`). A message from the phone itself (`fromMe`) has none.
 */
export interface SentBy {
  tokenId: string;
  tokenName: string;
  member?: { id: string; name: string } | undefined;
}

/** A stored message: the engine's message keyed by `_id`, its time a Date, with its UTC day and the sending token. */
export interface MessageDoc extends Omit<EngineMessage, 'id' | 'timestamp' | 'media'> {
  media?: MessageMediaDoc | undefined;
  /** Serialized WhatsApp message id. */
  _id: string;
  timestamp: Date;
  /** UTC day of `timestamp`, `YYYY-MM-DD` (serves the 30-day statistics). */
  day: string;
  /** The token that sent this message through the API (outgoing messages only). */
  sentBy?: SentBy | undefined;
  createdAt: Date;
  /** When its author last edited it (`storage/actions.ts`). */
  editedAt?: Date | undefined;
  /** When its author deleted it for everyone: a tombstone (type `revoked`, no body) stays. */
  revokedAt?: Date | undefined;
  /** Reactions, one per sender. */
  reactions?: ReactionEntry[] | undefined;
}

/** A reaction on a stored message. */
export interface ReactionEntry {
  /** `<digits>@c.us` */
  sender: string;
  /** The emoji. */
  reaction: string;
  timestamp: Date;
}

/** A stored contact: the engine's contact keyed by `_id`, with the time it was last written. */
export interface ContactDoc extends Omit<EngineContact, 'id'> {
  _id: string;
  updatedAt: Date;
}

/** A stored chat: the engine's chat keyed by `_id`, its times Dates, with the time it was last written. */
export interface ChatDoc extends Omit<EngineChat, 'id' | 'lastMessageAt' | 'lastMessage'> {
  _id: string;
  lastMessageAt?: Date | undefined;
  /** The newest message as the engine reported it at the last sync (the stored messages may be newer). */
  lastMessage?: (Omit<NonNullable<EngineChat['lastMessage']>, 'timestamp'> & { timestamp: Date }) | undefined;
  updatedAt: Date;
}

export type Permission = 'r' | 'w' | 'rw';

export interface TokenDoc {
  _id: string;
  name: string;
  permissions: Permission;
  /** SHA-256 of the whole token, hex. The plaintext is never stored. */
  hash: string;
  createdAt: Date;
  updatedAt: Date;
}

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxDoc {
  /** Event id, stable across delivery attempts (sent as `X-Wacloud-Event-Id`). */
  _id: string;
  event: string;
  payload: unknown;
  createdAt: Date;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  /** A dispatcher holds the event until this time (crash-safe claim). */
  lockedUntil?: Date | null;
  lastStatus?: number | null;
  lastError?: string | null;
  deliveredAt?: Date | null;
}

/** Where a message of the send queue is: `queued → sending → sent`, or `failed` (with a reason). */
export type OutgoingStatus = 'queued' | 'sending' | 'sent' | 'failed';

/** A message of the send queue (`outgoing` collection): what to send, who asked, and how far it got. */
export interface OutgoingDoc {
  /** `out_` + 32 hex: random, or derived from the token and its Idempotency-Key. */
  _id: string;
  status: OutgoingStatus;
  chatId: string;
  body: string;
  quotedMessageId?: string | undefined;
  /** A forward: the id of the message forwarded (its body is `body`); sent with `Engine.forwardMessage`. */
  forwardOf?: string | undefined;
  sentBy: SentBy;
  /** SHA-256 (hex) of the request (chat, text, quoted id): a retry with the same Idempotency-Key must match it. */
  requestHash: string;
  /** Whether an Idempotency-Key made `_id`. */
  idempotent: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** When the last attempt handed the message to the engine. */
  sendingAt?: Date | undefined;
  sentAt?: Date | undefined;
  /** The WhatsApp message id, once sent. */
  messageId?: string | undefined;
  /** Engine attempts so far (retries after transient failures and after a restart). */
  attempts: number;
  /** Why it failed (`failed`), or the last transient failure. */
  error?: { code: string; message: string } | undefined;
  /** What is sent: absent or `chat` (the text `body`), a media type, `location` or `vcard`. */
  type?: MediaType | 'chat' | 'location' | 'vcard' | undefined;
  /** Media sends: the file, stored in GridFS before this record was written (`body` is the caption). */
  media?: StoredMediaRef | undefined;
  /** `type: location`. */
  location?: EngineLocation | undefined;
  /** `type: vcard`: the contact card (also `body`). */
  vcard?: string | undefined;
}

export interface WebhookSettingsDoc {
  _id: 'webhook';
  url: string | null;
  /** HMAC key; kept recoverable because signing needs it (a hash cannot sign). */
  secret: string | null;
  events: string[];
  updatedAt: Date;
}

const messageSchema = new Schema<MessageDoc>(
  {
    _id: String,
    chatId: { type: String, required: true },
    author: { type: String, required: true },
    fromMe: { type: Boolean, required: true },
    isGroup: { type: Boolean, required: true },
    type: { type: String, required: true },
    body: { type: String, default: '' },
    timestamp: { type: Date, required: true },
    day: { type: String, required: true },
    ack: { type: Number, required: true },
    quotedMessageId: String,
    sentBy: { tokenId: String, tokenName: String, member: { id: String, name: String } },
    createdAt: { type: Date, required: true },
    isForwarded: Boolean,
    editedAt: Date,
    revokedAt: Date,
    reactions: { type: [{ _id: false, sender: String, reaction: String, timestamp: Date }], default: undefined },
    media: Schema.Types.Mixed,
    location: Schema.Types.Mixed,
    vcard: String,
  },
  { versionKey: false, _id: false },
);
// Every list filter is served by an index ending in (timestamp, _id) for newest-first cursor pages.
messageSchema.index({ timestamp: -1, _id: -1 });
messageSchema.index({ chatId: 1, timestamp: -1, _id: -1 });
messageSchema.index({ author: 1, timestamp: -1, _id: -1 });
messageSchema.index({ fromMe: 1, timestamp: -1, _id: -1 });
messageSchema.index({ isGroup: 1, timestamp: -1, _id: -1 });
messageSchema.index({ day: 1, fromMe: 1 });
// Received media still to download (few at any time).
messageSchema.index({ 'media.status': 1 }, { sparse: true });

const contactSchema = new Schema<ContactDoc>(
  {
    _id: String,
    number: String,
    name: String,
    pushname: String,
    isGroup: { type: Boolean, required: true },
    isMyContact: Boolean,
    participants: { type: [String], default: undefined },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, _id: false },
);
contactSchema.index({ isGroup: 1, _id: 1 });
contactSchema.index({ number: 1 });

const chatSchema = new Schema<ChatDoc>(
  {
    _id: String,
    name: String,
    isGroup: { type: Boolean, required: true },
    unreadCount: { type: Number, default: 0 },
    lastMessageAt: Date,
    archived: Boolean,
    pinned: Boolean,
    muted: Boolean,
    lastMessage: { id: String, author: String, fromMe: Boolean, type: { type: String }, body: String, timestamp: Date },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, _id: false },
);
// GET /v1/chats: newest first, cursor on (lastMessageAt, _id).
chatSchema.index({ lastMessageAt: -1, _id: -1 });

const tokenSchema = new Schema<TokenDoc>(
  {
    _id: String,
    name: { type: String, required: true },
    permissions: { type: String, enum: ['r', 'w', 'rw'], required: true },
    hash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, _id: false },
);

const outboxSchema = new Schema<OutboxDoc>(
  {
    _id: String,
    event: { type: String, required: true },
    payload: Schema.Types.Mixed,
    createdAt: { type: Date, required: true },
    status: { type: String, enum: ['pending', 'delivered', 'failed'], required: true },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    lockedUntil: Date,
    lastStatus: Number,
    lastError: String,
    deliveredAt: Date,
  },
  { versionKey: false, _id: false },
);
outboxSchema.index({ status: 1, nextAttemptAt: 1 });

const outgoingSchema = new Schema<OutgoingDoc>(
  {
    _id: String,
    status: { type: String, enum: ['queued', 'sending', 'sent', 'failed'], required: true },
    chatId: { type: String, required: true },
    body: { type: String, default: '' },
    quotedMessageId: String,
    forwardOf: String,
    sentBy: { tokenId: String, tokenName: String, member: { id: String, name: String } },
    type: String,
    media: Schema.Types.Mixed,
    location: Schema.Types.Mixed,
    vcard: String,
    requestHash: { type: String, required: true },
    idempotent: { type: Boolean, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    sendingAt: Date,
    sentAt: Date,
    messageId: String,
    attempts: { type: Number, required: true },
    error: { code: String, message: String },
  },
  { versionKey: false, _id: false },
);
// The sender loads what is unfinished at start, oldest first.
outgoingSchema.index({ status: 1, createdAt: 1 });

const settingsSchema = new Schema<WebhookSettingsDoc>(
  {
    _id: String,
    url: { type: String, default: null },
    secret: { type: String, default: null },
    events: { type: [String], default: [] },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, _id: false },
);

/** Typed native driver collections, for the hot paths (bulk writes, cursor queries). */
export interface Collections {
  messages: mongoose.mongo.Collection<MessageDoc>;
  contacts: mongoose.mongo.Collection<ContactDoc>;
  chats: mongoose.mongo.Collection<ChatDoc>;
  tokens: mongoose.mongo.Collection<TokenDoc>;
  outbox: mongoose.mongo.Collection<OutboxDoc>;
  /** The platform's subscription's outbox (target `api`: `webhooks/api-subscription.ts`), same records. */
  apiOutbox: mongoose.mongo.Collection<OutboxDoc>;
  outgoing: mongoose.mongo.Collection<OutgoingDoc>;
}

export interface Store {
  connection: Connection;
  col: Collections;
  messages: Model<MessageDoc>;
  contacts: Model<ContactDoc>;
  chats: Model<ChatDoc>;
  tokens: Model<TokenDoc>;
  outbox: Model<OutboxDoc>;
  settings: Model<WebhookSettingsDoc>;
  outgoing: Model<OutgoingDoc>;
  /** Creates the indexes (idempotent). */
  init(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to `uri` (its path names the database) with a connection of its own, so several stores can live in one
 * process (tests, benchmarks). Fails with the driver's error when the server is unreachable within `timeoutMs`.
 */
export async function openStore(uri: string, timeoutMs = 10_000): Promise<Store> {
  const connection = await mongoose
    .createConnection(uri, { serverSelectionTimeoutMS: timeoutMs, autoIndex: false, autoCreate: false, maxPoolSize: 20 })
    .asPromise();
  const db = connection.db!;
  const store: Store = {
    connection,
    col: {
      messages: db.collection<MessageDoc>('messages'),
      contacts: db.collection<ContactDoc>('contacts'),
      chats: db.collection<ChatDoc>('chats'),
      tokens: db.collection<TokenDoc>('tokens'),
      outbox: db.collection<OutboxDoc>('outbox'),
      apiOutbox: db.collection<OutboxDoc>('api_outbox'),
      outgoing: db.collection<OutgoingDoc>('outgoing'),
    },
    messages: connection.model<MessageDoc>('Message', messageSchema, 'messages'),
    contacts: connection.model<ContactDoc>('Contact', contactSchema, 'contacts'),
    chats: connection.model<ChatDoc>('Chat', chatSchema, 'chats'),
    tokens: connection.model<TokenDoc>('Token', tokenSchema, 'tokens'),
    outbox: connection.model<OutboxDoc>('Outbox', outboxSchema, 'outbox'),
    settings: connection.model<WebhookSettingsDoc>('Settings', settingsSchema, 'settings'),
    outgoing: connection.model<OutgoingDoc>('Outgoing', outgoingSchema, 'outgoing'),
    async init() {
      for (const m of [store.messages, store.contacts, store.chats, store.tokens, store.outbox, store.settings, store.outgoing]) {
        await m.createCollection().catch((err: { codeName?: string }) => {
          if (err.codeName !== 'NamespaceExists') throw err;
        });
        await m.createIndexes();
      }
      await store.col.apiOutbox.createIndex({ status: 1, nextAttemptAt: 1 });
    },
    close: () => connection.close(),
  };
  return store;
}

/** `Date` → `YYYY-MM-DD` in UTC. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
