/**
 * Webhook delivery from the durable outbox: at-least-once, in MongoDB so undelivered events survive
 * restarts and crashes.
 *
 * - An event is claimed with a findOneAndUpdate that sets `lockedUntil` (a crashed dispatcher's claim simply
 *   expires); claims are serialized within the process because FerretDB v1 does not make findOneAndUpdate atomic
 *   (one instance process owns its database, so no other process claims), POSTed with the HMAC signature and a stable `X-Wacloud-Event-Id`, then marked delivered or rescheduled.
 * - Retries: exponential backoff with full jitter in [base·2^(n−1)/2, base·2^(n−1)], capped at `retryMaxMs`
 *   (defaults 5 s → 5 min), at most `maxAttempts` attempts, then `failed` (kept as a dead letter).
 *   A 4xx answer is final (`failed`) except 408 and 429; `Retry-After` is honoured for 429 and 503.
 * - Through the SSRF guard ({@link postWebhook}): a receiver the guard refuses is final (`failed`), and so is a 3xx
 *   (redirects are never followed). Each attempt records its HTTP status, error, latency and address (the delivery log).
 */
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { OutboxDoc, Store } from '../storage/store.js';
import { deliveryCollection, type DeliveryDoc } from './admin.js';
import { postWebhook } from './post.js';
import type { WebhookSettings } from './settings.js';
import type { WebhookGuard } from './ssrf.js';
import { ATTEMPT_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from './signature.js';

export interface DispatcherOptions {
  store: Store;
  /** Receiver and secret (the tenant's webhook settings, or the api subscription: `api-subscription.ts`). */
  settings: { get(): Promise<Pick<WebhookSettings, 'url' | 'secret'>> };
  /** The outbox delivered from (default `outbox`, the tenant's webhook; `api_outbox` for the api target). */
  collection?: mongoose.mongo.Collection<OutboxDoc> | undefined;
  /** Delete a record once delivered (the api target keeps no delivery log). */
  dropDelivered?: boolean | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  instanceId: string;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Timeout of one POST (resolution, connection, answer), ms. */
  timeoutMs: number;
  /** Checks receivers and pins connections to the checked address (the api target: `platformTarget`, unchecked). */
  guard: Pick<WebhookGuard, 'target'>;
  /** Bytes of a receiver's answer read at most. */
  maxResponseBytes: number;
  /** Parallel deliveries. */
  concurrency?: number;
  /** Longest idle sleep between polls, ms. */
  pollMs?: number;
}

/** Outcome of one attempt, for tests and logs. */
export type AttemptResult = 'delivered' | 'retry' | 'failed';

export class WebhookDispatcher {
  private stopped = true;
  private wake: (() => void) | undefined;
  private loops: Promise<void>[] = [];
  /** Claims are serialized in-process: FerretDB v1 does not make findOneAndUpdate atomic under concurrency. */
  private claiming: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DispatcherOptions) {}

  private get outbox(): mongoose.mongo.Collection<DeliveryDoc> {
    return (this.opts.collection as mongoose.mongo.Collection<DeliveryDoc> | undefined) ?? deliveryCollection(this.opts.store);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const n = this.opts.concurrency ?? 4;
    this.loops = Array.from({ length: n }, () => this.loop());
  }

  /** Wakes sleeping workers (new events were stored). */
  notify(): void {
    this.wake?.();
  }

  /** Stops claiming; in-flight deliveries finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let delivered = false;
      try {
        delivered = await this.deliverOne();
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'webhook dispatcher: outbox unavailable');
      }
      if (!delivered && !this.stopped) await this.sleep(this.opts.pollMs ?? 1_000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const prev = this.wake;
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        prev?.();
        done();
      };
    });
  }

  /** Claims and attempts one due event. Returns false when none was due. */
  async deliverOne(now = new Date()): Promise<boolean> {
    const lockMs = this.opts.timeoutMs + 5_000;
    const claim = this.claiming.then(() =>
      this.outbox.findOneAndUpdate(
        { status: 'pending', nextAttemptAt: { $lte: now }, $or: [{ lockedUntil: null }, { lockedUntil: { $lte: now } }] },
        { $set: { lockedUntil: new Date(now.getTime() + lockMs) } },
        { sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
      ),
    );
    this.claiming = claim.catch(() => undefined);
    const doc = await claim;
    if (!doc) return false;
    await this.attempt(doc as OutboxDoc);
    return true;
  }

  private async attempt(doc: OutboxDoc): Promise<AttemptResult> {
    const { logger, metrics } = this.opts;
    const settings = await this.opts.settings.get();
    const attempt = doc.attempts + 1;
    const log = logger.child({ eventId: doc._id, event: doc.event, attempt });
    if (!settings.url) {
      // No receiver configured any more: keep the event until one is, checking again later.
      await this.outbox.updateOne(
        { _id: doc._id },
        { $set: { lockedUntil: null, nextAttemptAt: new Date(Date.now() + this.opts.retryMaxMs) } },
      );
      return 'retry';
    }
    const body = JSON.stringify({
      id: doc._id,
      event: doc.event,
      instanceId: this.opts.instanceId,
      createdAt: doc.createdAt,
      payload: doc.payload,
    });
    const ts = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'wacloud-webhooks/1',
      [EVENT_ID_HEADER]: doc._id,
      [EVENT_TYPE_HEADER]: doc.event,
      [TIMESTAMP_HEADER]: String(ts),
      [ATTEMPT_HEADER]: String(attempt),
    };
    if (settings.secret) headers[SIGNATURE_HEADER] = sign(settings.secret, ts, body);
    const r = await postWebhook(settings.url, headers, body, {
      guard: this.opts.guard,
      timeoutMs: this.opts.timeoutMs,
      maxResponseBytes: this.opts.maxResponseBytes,
    });
    const status = r.status;
    let error = r.error;
    if (status !== null && status >= 300 && status < 400)
      error = `redirect not followed (${status}${r.location ? ` to ${r.location.slice(0, 200)}` : ''})`;
    const retryAfterMs = parseRetryAfter(r.retryAfter ?? null);
    const result = r.refused ? 'failed' : classify(status, attempt, this.opts.maxAttempts);
    const now = Date.now();
    const last = {
      attempts: attempt,
      lastStatus: status,
      lastError: error,
      lastLatencyMs: r.latencyMs,
      lastAttemptAt: new Date(now),
      lastAddress: r.address ?? null,
      lockedUntil: null,
    };
    const outbox = this.outbox;
    if (result === 'delivered' && this.opts.dropDelivered) {
      await outbox.deleteOne({ _id: doc._id });
    } else if (result === 'delivered') {
      await outbox.updateOne({ _id: doc._id }, { $set: { ...last, status: 'delivered', deliveredAt: new Date(now), lastError: null } });
      log.debug({ status, latencyMs: r.latencyMs }, 'webhook delivered');
    } else if (result === 'retry') {
      const delay = Math.max(
        backoffMs(attempt, this.opts.retryBaseMs, this.opts.retryMaxMs),
        status === 429 || status === 503 ? (retryAfterMs ?? 0) : 0,
      );
      await outbox.updateOne({ _id: doc._id }, { $set: { ...last, nextAttemptAt: new Date(now + delay) } });
      log.info({ status, error, retryInMs: delay }, 'webhook delivery failed; will retry');
    } else {
      await outbox.updateOne({ _id: doc._id }, { $set: { ...last, status: 'failed' } });
      log.warn({ status, error }, 'webhook delivery failed for good; event kept as failed');
    }
    metrics?.webhookDeliveries.inc({ result });
    return result;
  }
}

/** Delivery outcome for an HTTP status (null: no answer). 2xx delivered; 3xx (not followed) and 4xx final except 408/429. */
export function classify(status: number | null, attempt: number, maxAttempts: number): AttemptResult {
  if (status !== null && status >= 200 && status < 300) return 'delivered';
  const retryable = status === null || status >= 500 || status === 408 || status === 429;
  if (!retryable) return 'failed';
  return attempt >= maxAttempts ? 'failed' : 'retry';
}

/** Backoff before attempt `attempt + 1`, ms: exponential with jitter, bounded by `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.min(s * 1000, 3_600_000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
