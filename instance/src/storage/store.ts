/**
 * The instance's own database (the MongoDB driver). One collection per kind:
 * messages, contacts, chats, tokens, outbox (webhook events), settings, outgoing (the send queue).
 *
 * Designed for FerretDB v1 as well as MongoDB: no transactions, change streams, TTL indexes or `$lookup`;
 * atomic single-document updates and unique `_id`s carry every invariant.
 */
import './lazy-driver-deps.js'; // before the driver: its dependencies' tables load at first use
import { MongoClient, type Collection, type CreateIndexesOptions, type Db, type IndexSpecification } from 'mongodb';
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

/**
 * The indexes of each collection, created by {@link Store.init}. Named by the server's default (`field_dir_…`), the
 * names mongoose gave them when the store was built on it, so databases created before keep their indexes.
 */
const INDEXES: Record<string, readonly (readonly [IndexSpecification, CreateIndexesOptions?])[]> = {
  // Every list filter is served by an index ending in (timestamp, _id) for newest-first cursor pages.
  messages: [
    [{ timestamp: -1, _id: -1 }],
    [{ chatId: 1, timestamp: -1, _id: -1 }],
    [{ author: 1, timestamp: -1, _id: -1 }],
    [{ fromMe: 1, timestamp: -1, _id: -1 }],
    [{ isGroup: 1, timestamp: -1, _id: -1 }],
    [{ day: 1, fromMe: 1 }],
    // Received media still to download (few at any time).
    [{ 'media.status': 1 }, { sparse: true }],
  ],
  contacts: [[{ isGroup: 1, _id: 1 }], [{ number: 1 }]],
  // GET /v1/chats: newest first, cursor on (lastMessageAt, _id).
  chats: [[{ lastMessageAt: -1, _id: -1 }]],
  tokens: [],
  outbox: [[{ status: 1, nextAttemptAt: 1 }]],
  // The platform's subscription's outbox: the same claims as `outbox`.
  api_outbox: [[{ status: 1, nextAttemptAt: 1 }]],
  settings: [],
  // The sender loads what is unfinished at start, oldest first.
  outgoing: [[{ status: 1, createdAt: 1 }]],
};

/** Typed native driver collections. */
export interface Collections {
  messages: Collection<MessageDoc>;
  contacts: Collection<ContactDoc>;
  chats: Collection<ChatDoc>;
  tokens: Collection<TokenDoc>;
  outbox: Collection<OutboxDoc>;
  /** The platform's subscription's outbox (target `api`: `webhooks/api-subscription.ts`), same records. */
  apiOutbox: Collection<OutboxDoc>;
  outgoing: Collection<OutgoingDoc>;
}

/** The store's connection: the driver's client and the database its URI names. */
export interface StoreConnection {
  client: MongoClient;
  db: Db;
  /** Drops the whole database (tests, benchmarks). */
  dropDatabase(): Promise<boolean>;
}

export interface Store {
  connection: StoreConnection;
  col: Collections;
  /** The `tokens` collection (`storage/tokens.ts`). */
  tokens: Collection<TokenDoc>;
  /** The `settings` collection: the webhook settings document (`webhooks/settings.ts`) and others by `_id`. */
  settings: Collection<WebhookSettingsDoc>;
  /** Creates the collections and their indexes (idempotent). */
  init(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to `uri` (its path names the database) with a client of its own, so several stores can live in one
 * process (tests, benchmarks). Fails with the driver's error (`MongoServerSelectionError`) when the server is
 * unreachable within `timeoutMs`.
 *
 * The MongoDB driver alone, not mongoose: the instance reads and writes through the driver's collections, and mongoose
 * cost ~5 MiB of the idle process' memory (instance/README.md, "Memory").
 */
export async function openStore(uri: string, timeoutMs = 10_000): Promise<Store> {
  const client = await new MongoClient(uri, { serverSelectionTimeoutMS: timeoutMs, maxPoolSize: 20 }).connect();
  const db = client.db();
  const col: Collections = {
    messages: db.collection<MessageDoc>('messages'),
    contacts: db.collection<ContactDoc>('contacts'),
    chats: db.collection<ChatDoc>('chats'),
    tokens: db.collection<TokenDoc>('tokens'),
    outbox: db.collection<OutboxDoc>('outbox'),
    apiOutbox: db.collection<OutboxDoc>('api_outbox'),
    outgoing: db.collection<OutgoingDoc>('outgoing'),
  };
  return {
    connection: { client, db, dropDatabase: () => db.dropDatabase() },
    col,
    tokens: col.tokens,
    settings: db.collection<WebhookSettingsDoc>('settings'),
    async init() {
      for (const [name, indexes] of Object.entries(INDEXES)) {
        await db.createCollection(name).catch((err: { codeName?: string }) => {
          if (err.codeName !== 'NamespaceExists') throw err;
        });
        for (const [spec, options] of indexes) await db.collection(name).createIndex(spec, options ?? {});
      }
    },
    close: () => client.close(),
  };
}

/** `Date` → `YYYY-MM-DD` in UTC. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
