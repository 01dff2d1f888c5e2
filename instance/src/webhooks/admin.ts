/**
 * What the tenant manages about webhooks (through the internal API, for the api): the receiver URL and events (the URL
 * checked by the SSRF guard before it is kept), the signing secret (generated here, shown once, rotatable), a test
 * event, the delivery log (the outbox, newest first: status, HTTP answer, latency, attempts; delivered events kept
 * `WEBHOOK_LOG_RETENTION_MS` from their creation, failed ones `WEBHOOK_FAILED_RETENTION_MS` from their last attempt)
 * and the replay of a failed delivery (back to `pending` with its attempts reset, delivered again under the same event
 * id).
 */
import { randomBytes } from 'node:crypto';
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { OutboxDoc, Store } from '../storage/store.js';
import type { WebhookSettings, WebhookSettingsService } from './settings.js';
import { WebhookRefusedError, WebhookResolveError, type WebhookGuard } from './ssrf.js';

/** How often delivered events past the delivery log's retention are removed, ms. */
export const LOG_SWEEP_MS = 3_600_000;

/** How long the delivery log keeps finished events, ms (0: for ever); see {@link WebhookAdmin.sweep}. */
export interface LogRetention {
  /** Delivered events, from their creation (`WEBHOOK_LOG_RETENTION_MS`). */
  deliveredMs: number;
  /** Failed events, from their last attempt (`WEBHOOK_FAILED_RETENTION_MS`). */
  failedMs: number;
}

/** The event type of a test delivery (sent whatever the subscribed events). */
export const TEST_EVENT = 'webhook.test';

/** An outbox record with what the dispatcher adds about its last attempt. */
export interface DeliveryDoc extends OutboxDoc {
  /** Duration of the last attempt (resolution, connection, answer), ms. */
  lastLatencyMs?: number | null;
  lastAttemptAt?: Date | null;
  /** The address the last attempt connected to. */
  lastAddress?: string | null;
  /** Times the tenant replayed it. */
  replays?: number;
}

/** A delivery as the API shows it. */
export interface DeliveryView {
  id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The receiver's HTTP status of the last attempt; null when none answered. */
  httpStatus: number | null;
  error: string | null;
  latencyMs: number | null;
  /** The address the last attempt connected to (the checked one). */
  address: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  replays: number;
}

/** The settings as the API shows them: the secret never, only whether one is set. */
export interface WebhookView {
  url: string | null;
  secretSet: boolean;
  events: string[];
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** A new signing secret: `whsec_` + 32 random bytes, base64url. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The outbox as the delivery log: the same collection, with the fields of {@link DeliveryDoc}. */
export function deliveryCollection(store: Store): mongoose.mongo.Collection<DeliveryDoc> {
  return store.col.outbox as unknown as mongoose.mongo.Collection<DeliveryDoc>;
}

export function deliveryView(d: DeliveryDoc): DeliveryView {
  return {
    id: d._id,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    httpStatus: d.lastStatus ?? null,
    error: d.lastError ?? null,
    latencyMs: d.lastLatencyMs ?? null,
    address: d.lastAddress ?? null,
    createdAt: iso(d.createdAt)!,
    lastAttemptAt: iso(d.lastAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    replays: d.replays ?? 0,
  };
}

export class WebhookAdmin {
  /**
   * @param notify wakes the dispatcher (a test event or a replay is due now)
   */
  constructor(
    private readonly store: Store,
    private readonly settings: WebhookSettingsService,
    private readonly guard: WebhookGuard,
    private readonly instanceId: string,
    private readonly notify: () => void,
  ) {}

  private get deliveries() {
    return deliveryCollection(this.store);
  }

  /** Creates the delivery log's index (idempotent). */
  async init(): Promise<void> {
    await this.deliveries.createIndex({ createdAt: -1 });
  }

  static view(s: WebhookSettings): WebhookView {
    return { url: s.url, secretSet: Boolean(s.secret), events: s.events };
  }

  async get(): Promise<WebhookView> {
    return WebhookAdmin.view(await this.settings.get());
  }

  /**
   * Checks `url` with the SSRF guard.
   * @throws AppError `webhook_url_refused` (422) naming the reason.
   */
  async check(url: string): Promise<void> {
    try {
      await this.guard.target(url);
    } catch (err) {
      if (err instanceof WebhookRefusedError || err instanceof WebhookResolveError)
        throw new AppError('webhook_url_refused', `This webhook URL is refused: ${err.message}.`);
      throw err;
    }
  }

  /**
   * Replaces URL and events (a `secret` given is kept as the new one; undefined keeps the current). A URL is checked
   * first; the first URL without a secret gets a generated one, returned here once as `secret`.
   * @throws AppError `webhook_url_refused`; the driver's error when the database is unreachable.
   */
  async update(next: {
    url: string | null;
    events: string[];
    secret?: string | null | undefined;
  }): Promise<WebhookView & { secret?: string }> {
    if (next.url) await this.check(next.url);
    const current = await this.settings.get();
    const generated = next.url && next.secret === undefined && !current.secret ? newSecret() : undefined;
    const saved = await this.settings.replace({ url: next.url, events: next.events, secret: generated ?? next.secret });
    return { ...WebhookAdmin.view(saved), ...(generated ? { secret: generated } : {}) };
  }

  /** A new signing secret, effective for the next delivery; returned once. */
  async rotateSecret(): Promise<{ secret: string }> {
    const s = await this.settings.get();
    const secret = newSecret();
    await this.settings.replace({ url: s.url, events: s.events, secret });
    return { secret };
  }

  /**
   * Queues a `webhook.test` event for delivery now.
   * @throws AppError `webhook_not_configured` when no URL is set.
   */
  async sendTest(): Promise<DeliveryView> {
    const s = await this.settings.get();
    if (!s.url) throw new AppError('webhook_not_configured');
    const now = new Date();
    const doc: DeliveryDoc = {
      _id: `evt_${randomBytes(16).toString('hex')}`,
      event: TEST_EVENT,
      payload: { message: 'A test event from wacloud: your receiver is reachable.', instanceId: this.instanceId },
      createdAt: now,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lockedUntil: null,
    };
    await this.deliveries.insertOne(doc);
    this.notify();
    return deliveryView(doc);
  }

  /**
   * Removes from the delivery log (the outbox) what is past its retention, at `now` (epoch ms); returns how many of
   * each:
   * - delivered events created before `now − retention.deliveredMs` (through the log's `createdAt` index);
   * - failed events (dead letters) whose last attempt — or, never attempted, their creation — was before
   *   `now − retention.failedMs`.
   * A retention of 0 (or less) keeps those for ever. Pending events are never removed. Without the sweep the log would
   * keep a copy of every event's payload for ever, and a receiver that stays down would fill it with failed ones.
   * @throws the driver's error when the database is unreachable.
   */
  async sweep(retention: LogRetention, now = Date.now()): Promise<{ delivered: number; failed: number }> {
    const removed = { delivered: 0, failed: 0 };
    if (retention.deliveredMs > 0) {
      const before = new Date(now - retention.deliveredMs);
      removed.delivered = (await this.deliveries.deleteMany({ status: 'delivered', createdAt: { $lt: before } })).deletedCount;
    }
    if (retention.failedMs > 0) {
      // A last attempt is never older than the creation: the creation bounds both.
      const before = new Date(now - retention.failedMs);
      const lastAttempt = { $or: [{ lastAttemptAt: { $lt: before } }, { lastAttemptAt: null }] };
      removed.failed = (await this.deliveries.deleteMany({ status: 'failed', createdAt: { $lt: before }, ...lastAttempt })).deletedCount;
    }
    return removed;
  }

  /**
   * Sweeps the delivery log ({@link sweep}) now and every {@link LOG_SWEEP_MS} until the returned function is called;
   * each sweep that removed something is logged with its counts (info; warn when failed events went, which the tenant
   * could still have replayed), a failed sweep is logged and tried again at the next. Both retentions 0: no sweeps.
   */
  startLogSweeps(retention: LogRetention, log: Logger): () => void {
    if (retention.deliveredMs <= 0 && retention.failedMs <= 0) return () => undefined;
    let running: Promise<void> | undefined;
    const sweep = () => {
      running ??= this.sweep(retention)
        .then((removed) => {
          if (removed.failed > 0)
            log.warn({ removed, retention }, 'webhook delivery log: failed events past their retention removed (no longer replayable)');
          else if (removed.delivered > 0)
            log.info({ removed, retention }, 'webhook delivery log: delivered events past the retention removed');
        })
        .catch((err: unknown) => log.warn({ err }, 'webhook delivery log: sweep failed; trying again later'))
        .finally(() => (running = undefined));
    };
    sweep();
    const timer = setInterval(sweep, LOG_SWEEP_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The newest deliveries first, at most `limit` (1–200), optionally only one `status`. */
  async list(limit: number, status?: DeliveryView['status']): Promise<DeliveryView[]> {
    const docs = await this.deliveries
      .find(status ? { status } : {})
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(deliveryView);
  }

  /**
   * Sends a failed delivery again: back to `pending`, attempts from zero, due now.
   * @throws AppError `delivery_not_found`; `delivery_not_failed` (409) unless it failed.
   */
  async replay(id: string): Promise<DeliveryView> {
    const doc = await this.deliveries.findOneAndUpdate(
      { _id: id, status: 'failed' },
      { $set: { status: 'pending', attempts: 0, nextAttemptAt: new Date(), lockedUntil: null }, $inc: { replays: 1 } },
      { returnDocument: 'after' },
    );
    if (!doc) {
      const exists = await this.deliveries.findOne({ _id: id }, { projection: { _id: 1 } });
      throw new AppError(exists ? 'delivery_not_failed' : 'delivery_not_found');
    }
    this.notify();
    return deliveryView(doc);
  }
}
