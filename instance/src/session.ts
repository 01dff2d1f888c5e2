/**
 * The session: one engine and what follows from its events. Every engine event is
 * - persisted in the background (messages, acks, contacts, chats — spec §1.3),
 * - queued as a webhook event in the outbox when subscribed (spec §1.4),
 * - published live to WebSocket subscribers (`/v1/events`),
 * - counted in metrics.
 */
import { EventEmitter } from 'node:events';
import QRCode from 'qrcode';
import type { Logger } from 'pino';
import type { Engine, EngineAccount, EngineChat, EngineContact, EngineMessage, SessionState } from './engine.js';
import type { Metrics } from './metrics.js';
import type { Persister } from './persistence.js';
import type { ChatDoc, MessageDoc, Store } from './store.js';
import { utcDay } from './store.js';
import { eventId, type WebhookEvent, type WebhookSettingsService } from './webhook-settings.js';

/** Longest a stored chat's `lastMessageAt` lags behind its newest message, ms. */
export const CHAT_TOUCH_MS = 5_000;

/** A live event as sent on the WebSocket stream: `{ event, data, timestamp }` (timestamp epoch ms). */
export interface LiveEvent {
  event: 'session.status' | 'qr' | 'pairing_code' | 'message' | 'message.ack';
  data: unknown;
  timestamp: number;
}

/** Message as the API shows it. */
export interface MessageView {
  id: string;
  chatId: string;
  author: string;
  fromMe: boolean;
  isGroup: boolean;
  type: string;
  body: string;
  /** ISO 8601 */
  timestamp: string;
  ack: number;
  quotedMessageId?: string | undefined;
  sentBy?: { tokenId: string; tokenName: string } | undefined;
}

export function toMessageDoc(m: EngineMessage, sentBy?: MessageDoc['sentBy']): MessageDoc {
  const ts = new Date(m.timestamp);
  return {
    _id: m.id,
    chatId: m.chatId,
    author: m.author,
    fromMe: m.fromMe,
    isGroup: m.isGroup,
    type: m.type,
    body: m.body,
    timestamp: ts,
    day: utcDay(ts),
    ack: m.ack,
    quotedMessageId: m.quotedMessageId,
    sentBy,
    createdAt: new Date(),
  };
}

export function toMessageView(d: MessageDoc): MessageView {
  return {
    id: d._id,
    chatId: d.chatId,
    author: d.author,
    fromMe: d.fromMe,
    isGroup: d.isGroup,
    type: d.type,
    body: d.body,
    timestamp: d.timestamp.toISOString(),
    ack: d.ack,
    ...(d.quotedMessageId ? { quotedMessageId: d.quotedMessageId } : {}),
    ...(d.sentBy?.tokenId ? { sentBy: { tokenId: d.sentBy.tokenId, tokenName: d.sentBy.tokenName } } : {}),
  };
}

export interface SessionOptions {
  engine: Engine;
  store: Store;
  persister: Persister;
  webhooks: WebhookSettingsService;
  metrics: Metrics;
  logger: Logger;
}

export class Session {
  readonly engine: Engine;
  /** Live events for WebSocket subscribers. */
  readonly live = new EventEmitter<{ event: [LiveEvent] }>();
  private qrCache: { qr: string; image: string } | undefined;
  private readonly startedAt = Date.now();
  /** Latest chat record per chat; `dirty` ones are written by the next touch flush. */
  private readonly chatTouches = new Map<string, { doc: ChatDoc; dirty: boolean }>();
  private readonly chatFlush: NodeJS.Timeout;

  constructor(private readonly opts: SessionOptions) {
    this.engine = opts.engine;
    this.live.setMaxListeners(0);
    this.chatFlush = setInterval(() => this.flushChatTouches(), CHAT_TOUCH_MS);
    this.chatFlush.unref();
    const e = this.engine;
    e.on('state', (state, reason) => this.guard(() => this.onState(state, reason)));
    e.on('qr', (qr) => this.guard(() => this.onQr(qr)));
    e.on('pairing_code', (code) => this.guard(() => this.publish('pairing_code', { code })));
    e.on('authenticated', (account) => this.guard(() => this.onAuthenticated(account)));
    e.on('message', (m) => this.guard(() => this.onMessage(m)));
    e.on('message_ack', (a) => this.guard(() => this.onAck(a.id, a.chatId, a.ack)));
    e.on('contact', (c) => this.guard(() => this.onContact(c)));
    e.on('chat', (c) => this.guard(() => this.onChat(c)));
  }

  /** Queues the coalesced chat touches (also called before the persister's final flush). */
  flushChatTouches(): void {
    for (const t of this.chatTouches.values()) {
      if (!t.dirty) continue;
      t.dirty = false;
      this.opts.persister.enqueue({ kind: 'chat', doc: t.doc });
    }
  }

  /** Stops the periodic chat-touch flush after a last one. */
  close(): void {
    clearInterval(this.chatFlush);
    this.flushChatTouches();
  }

  /** Milliseconds since the service started. */
  uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** The pending QR as a PNG data URL (while SCAN_QR_CODE), rendered once per QR string. */
  async qrImage(): Promise<string | undefined> {
    const qr = this.engine.qr();
    if (!qr || this.engine.state() !== 'SCAN_QR_CODE') return undefined;
    if (this.qrCache?.qr !== qr) {
      this.qrCache = { qr, image: await QRCode.toDataURL(qr, { errorCorrectionLevel: 'L', margin: 2, scale: 6 }) };
    }
    return this.qrCache.image;
  }

  /** The current session status as shown by /health and the event stream. */
  status(): { state: SessionState; reason?: string | undefined; account?: EngineAccount | undefined } {
    const state = this.engine.state();
    return { state, ...(state === 'FAILED' || state === 'STOPPED' ? { reason: this.engine.stateReason() } : {}), account: this.engine.account() };
  }

  /**
   * Persists an outgoing message sent through the API at once (not batched), naming the token that sent it, so the
   * response and an immediate read agree. Idempotent with the engine's own `message` event for the same id.
   */
  async recordSent(m: EngineMessage, sentBy: { tokenId: string; tokenName: string }): Promise<MessageDoc> {
    const doc = toMessageDoc(m, sentBy);
    const { ack, sentBy: by, ...rest } = doc;
    await this.opts.store.col.messages.updateOne({ _id: doc._id }, { $setOnInsert: rest, $max: { ack }, $set: { sentBy: by } }, { upsert: true });
    return doc;
  }

  private guard(fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: Error) => this.opts.logger.error({ err }, 'session event handling failed'));
    } catch (err) {
      this.opts.logger.error({ err }, 'session event handling failed');
    }
  }

  private publish(event: LiveEvent['event'], data: unknown): void {
    this.live.emit('event', { event, data, timestamp: Date.now() });
  }

  private async queueWebhook(event: WebhookEvent, key: string, payload: unknown): Promise<void> {
    if (!(await this.opts.webhooks.wants(event))) return;
    const now = new Date();
    this.opts.persister.enqueue({
      kind: 'event',
      doc: { _id: eventId(event, key), event, payload, createdAt: now, status: 'pending', attempts: 0, nextAttemptAt: now, lockedUntil: null },
    });
  }

  private async onState(state: SessionState, reason?: string): Promise<void> {
    this.opts.metrics.setSessionState(state);
    if (state !== 'SCAN_QR_CODE') this.qrCache = undefined;
    const data = { state, ...(reason ? { reason } : {}), account: this.engine.account() };
    this.opts.logger.info({ state, reason }, 'session state');
    this.publish('session.status', data);
    await this.queueWebhook('session.status', `${Date.now()}:${state}:${Math.random()}`, data);
  }

  private async onQr(qr: string): Promise<void> {
    const image = await QRCode.toDataURL(qr, { errorCorrectionLevel: 'L', margin: 2, scale: 6 });
    this.qrCache = { qr, image };
    this.publish('qr', { qr, image });
  }

  private onAuthenticated(account: EngineAccount): void {
    this.opts.logger.info({ account: account.id }, 'session authenticated');
  }

  private async onMessage(m: EngineMessage): Promise<void> {
    this.opts.metrics.messages.inc({ direction: m.fromMe ? 'out' : 'in' });
    const doc = toMessageDoc(m);
    this.opts.persister.enqueue({ kind: 'message', doc });
    // Messages touch their chat: a new chat is written at once; later touches are coalesced and written every
    // CHAT_TOUCH_MS (one upsert per chat instead of one per message, which halved ingestion on FerretDB).
    const chat = { _id: m.chatId, isGroup: m.isGroup, lastMessageAt: doc.timestamp, updatedAt: new Date() } as ChatDoc;
    const prev = this.chatTouches.get(m.chatId);
    if (!prev) {
      this.chatTouches.set(m.chatId, { doc: chat, dirty: false });
      this.opts.persister.enqueue({ kind: 'chat', doc: chat });
    } else if (!prev.doc.lastMessageAt || chat.lastMessageAt! >= prev.doc.lastMessageAt) {
      this.chatTouches.set(m.chatId, { doc: chat, dirty: true });
    }
    const view = toMessageView(doc);
    this.publish('message', view);
    if (!m.fromMe) await this.queueWebhook('message', m.id, view);
    await this.queueWebhook('message.any', m.id, view);
  }

  private async onAck(id: string, chatId: string, ack: number): Promise<void> {
    this.opts.persister.enqueue({ kind: 'ack', id, ack: ack as EngineMessage['ack'] });
    const data = { id, chatId, ack };
    this.publish('message.ack', data);
    await this.queueWebhook('message.ack', `${id}:${ack}`, data);
  }

  private onContact(c: EngineContact): void {
    this.opts.persister.enqueue({
      kind: 'contact',
      doc: { _id: c.id, number: c.number, name: c.name, pushname: c.pushname, isGroup: c.isGroup, isMyContact: c.isMyContact, participants: c.participants, updatedAt: new Date() },
    });
  }

  private onChat(c: EngineChat): void {
    this.opts.persister.enqueue({
      kind: 'chat',
      doc: { _id: c.id, name: c.name, isGroup: c.isGroup, unreadCount: c.unreadCount, lastMessageAt: c.lastMessageAt ? new Date(c.lastMessageAt) : undefined, updatedAt: new Date() },
    });
  }
}
