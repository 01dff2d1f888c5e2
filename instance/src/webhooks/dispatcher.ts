/**
 * Webhook delivery from the durable outbox: at-least-once, in MongoDB so undelivered events survive
 * restarts and crashes.
 *
 * - Events reach the workers three ways: handed over by the persister right after it stored them ({@link offer}, no
 *   read back); handed over unstored ({@link offerUnstored}: events of inbound messages, whose journal entries are
 *   held until each has a record — stored once, with its outcome: a delivered event costs one insert, or none on the
 *   api target); and claimed from the outbox (the oldest due first, {@link CLAIM_LIMIT} per read, served by the
 *   `(status, nextAttemptAt)` index) at start, when notified (a test event, a replay, a new receiver), when retries
 *   fall due, when offers were refused, and every poll interval. Claims are held in memory (one instance process owns
 *   its database): a crash loses the claims, never the events, which stay `pending` until their outcome is stored.
 * - `concurrency` workers POST in parallel (keep-alive connections to the checked address, at most `concurrency` per
 *   receiver, {@link postWebhook}), each event with the HMAC signature and a stable `X-Wacloud-Event-Id`. The workers
 *   share the instance's one thread with ingest, so each POST waits on the event loop's turns: 64 of them (the default)
 *   keep up with a burst's hand-overs, 16 did not (instance/README.md, webhooks); outcomes are stored in batches
 *   ({@link MarkWriter}: delivered, rescheduled or failed, with the attempt's HTTP status, error, latency and address —
 *   the delivery log; the api outbox deletes delivered records instead). An event stays claimed until its outcome is
 *   stored, so it is never attempted twice at once; a claim read that began before an outcome was stored is
 *   filtered by the ids stored since.
 * - Retries: exponential backoff with full jitter in [base·2^(n−1)/2, base·2^(n−1)], capped at `retryMaxMs`
 *   (defaults 5 s → 5 min), at most `maxAttempts` attempts, then `failed` (kept as a dead letter, for
 *   `WEBHOOK_FAILED_RETENTION_MS` after that attempt: `admin.ts`).
 *   A 4xx answer is final (`failed`) except 408 and 429; `Retry-After` is honoured for 429 and 503.
 * - Through the SSRF guard ({@link postWebhook}): a receiver the guard refuses is final (`failed`), and so is a 3xx
 *   (redirects are never followed).
 * - Batches (`batching`, the api target only): when the settings name a `batch` size, up to that many queued events
 *   go in one POST, in order, and the answer says how many were taken (`batch.ts`); the rest are retried.
 */
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { OutboxDoc, Store } from '../storage/store.js';
import { deliveryCollection, type DeliveryDoc } from './admin.js';
import { SINGLE_FALLBACK_MS, acceptedOf, batchBody } from './batch.js';
import { MarkWriter, type Mark } from './marks.js';
import { backoffMs, classify, errorOf, isRefusal, parseRetryAfter, type AttemptResult } from './attempt-outcome.js';
import { postWebhook, type PostResult } from './post.js';
import type { WebhookSettings } from './settings.js';
import type { WebhookGuard } from './ssrf.js';
import { ATTEMPT_HEADER, BATCH_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from './signature.js';

export interface DispatcherOptions {
  store: Store;
  /**
   * Receiver and secret (the tenant's webhook settings, or the api subscription: `api-subscription.ts`, which may name
   * a `batch` size: events per POST at most, with {@link DispatcherOptions.batching}).
   */
  settings: { get(): Promise<Pick<WebhookSettings, 'url' | 'secret'> & { batch?: number | null }> };
  /** POST up to the settings' `batch` events at once (the api target: `batch.ts`); tenant webhooks: one per POST. */
  batching?: boolean | undefined;
  /** The outbox delivered from (default `outbox`, the tenant's webhook; `api_outbox` for the api target). */
  collection?: mongoose.mongo.Collection<OutboxDoc> | undefined;
  /** Delete a record once delivered (the api target keeps no delivery log). */
  dropDelivered?: boolean | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  instanceId: string;
  maxAttempts: number;
  /**
   * Every attempt that is not answered 2xx is retried, never `failed` (the api target: its refusals pass — a signature
   * made with a secret the api has since rotated, until it renews the subscription; a clock off by more than its
   * tolerance — and its events must not be lost). Default: a 4xx other than 408 and 429, a 3xx and a receiver the
   * guard refuses are final.
   */
  retryRefusals?: boolean | undefined;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Timeout of one POST (resolution, connection, answer), ms. */
  timeoutMs: number;
  /** Checks receivers and pins connections to the checked address (the api target: `platformTarget`, unchecked). */
  guard: Pick<WebhookGuard, 'target'>;
  /** Bytes of a receiver's answer read at most. */
  maxResponseBytes: number;
  /**
   * Called with the ids of events handed over unstored ({@link WebhookDispatcher.offerUnstored}) once they have a
   * record (their outcome, or a pending one), or none because delivered on the api target.
   */
  onRecorded?: ((ids: string[]) => void) | undefined;
  /** Parallel deliveries and connections per receiver (default 64; the api target uses 1, keeping its events in order). */
  concurrency?: number;
  /** Longest idle sleep between polls, ms. */
  pollMs?: number;
}

/** Events read per claim from the outbox. */
const CLAIM_LIMIT = 256;
/** Events held in memory at most (queued, being delivered or waiting for their outcome's write). */
const MAX_IN_MEMORY = 10_000;
/** While deliveries run, the outbox is read for events not in memory every this many poll intervals. */
const BUSY_POLL_FACTOR = 10;

export class WebhookDispatcher {
  private stopped = true;
  /** Claimed events waiting for a worker, oldest due first. */
  private queue: OutboxDoc[] = [];
  /** Ids claimed in memory: queued, being delivered, or their outcome not yet stored. */
  private readonly inFlight = new Set<string>();
  /** Ids of events in memory that have no record in the outbox yet ({@link offerUnstored}). */
  private readonly unstored = new Set<string>();
  /** Ids whose outcome was stored, with when (Date.now()): a claim read that began earlier may still see them due. */
  private readonly recentlyDone = new Map<string, number>();
  private workers: Promise<void>[] = [];
  private feeder: Promise<void> | undefined;
  private workWaiters: Array<() => void> = [];
  private feederWake: (() => void) | undefined;
  /** A claim is due now (start, {@link notify}). */
  private woken = true;
  /** The outbox may hold due events not in memory (a full claim, offers refused). */
  private backlog = true;
  /** Earliest known retry, epoch ms. */
  private dueAt = Infinity;
  private lastClaim = 0;
  /** Until then (epoch ms) events go one per POST: a batch was refused (400/413, an api without batches). */
  private singleUntil = 0;
  private readonly marks: MarkWriter;

  constructor(private readonly opts: DispatcherOptions) {
    this.marks = new MarkWriter(this.outbox as mongoose.mongo.Collection<OutboxDoc>, opts.logger, (ids) => {
      const now = Date.now();
      const recorded: string[] = [];
      for (const id of ids) {
        this.inFlight.delete(id);
        this.recentlyDone.set(id, now);
        if (this.unstored.delete(id)) recorded.push(id);
      }
      if (recorded.length) opts.onRecorded?.(recorded);
    });
  }

  private get outbox(): mongoose.mongo.Collection<DeliveryDoc> {
    return (this.opts.collection as mongoose.mongo.Collection<DeliveryDoc> | undefined) ?? deliveryCollection(this.opts.store);
  }

  private get concurrency(): number {
    return this.opts.concurrency ?? 64;
  }

  /** Below this many queued events the next claim may read the outbox. */
  private get lowWater(): number {
    return Math.max(this.opts.batching ? 256 : 64, this.concurrency * 4);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.woken = true;
    this.backlog = true;
    this.marks.open();
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
    this.feeder = this.feed();
  }

  /** Reads the outbox now (new or replayed events were stored, the receiver changed). */
  notify(): void {
    this.woken = true;
    this.feederWake?.();
  }

  /**
   * Hands events just stored in the outbox to the workers without reading them back (the persister's hot path).
   * Ignored when stopped; past {@link MAX_IN_MEMORY} events the rest are left to the next claim.
   */
  offer(docs: readonly OutboxDoc[]): void {
    if (this.stopped || docs.length === 0) return;
    const now = Date.now();
    for (const d of docs) {
      if (d.status !== 'pending' || new Date(d.nextAttemptAt).getTime() > now || this.inFlight.has(d._id) || this.recentlyDone.has(d._id))
        continue;
      if (this.inFlight.size >= MAX_IN_MEMORY) {
        this.backlog = true;
        break;
      }
      this.inFlight.add(d._id);
      this.queue.push(d);
    }
    this.wakeWorkers();
  }

  /**
   * Takes events that have no record in the outbox (each then gets one once, with its outcome: see
   * {@link DispatcherOptions.onRecorded}); returns those taken — none when stopped, none already in memory, and no more
   * than {@link MAX_IN_MEMORY} held in all (the caller stores the others).
   */
  offerUnstored(docs: readonly OutboxDoc[]): OutboxDoc[] {
    if (this.stopped) return [];
    const taken: OutboxDoc[] = [];
    for (const d of docs) {
      if (this.inFlight.size >= MAX_IN_MEMORY) break;
      if (this.inFlight.has(d._id) || this.recentlyDone.has(d._id)) continue;
      this.inFlight.add(d._id);
      this.unstored.add(d._id);
      this.queue.push(d);
      taken.push(d);
    }
    if (taken.length) this.wakeWorkers();
    return taken;
  }

  /**
   * Stops claiming; in-flight deliveries finish and their outcomes are written (those not written within the
   * caller's bound are delivered again by the next start); events claimed but not attempted are released — those
   * handed over unstored too: their messages' journal entries, still held, bring them back at the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.feederWake?.();
    this.wakeWorkers();
    await Promise.all([...this.workers, this.feeder]);
    for (const d of this.queue.splice(0)) {
      this.inFlight.delete(d._id);
      this.unstored.delete(d._id);
    }
    await this.marks.close();
  }

  private wakeWorkers(): void {
    for (const w of this.workWaiters.splice(0)) w();
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (this.queue.length === 0) {
        await new Promise<void>((r) => this.workWaiters.push(r));
        continue;
      }
      const size = this.opts.batching ? await this.batchSize() : null;
      const docs = this.queue.splice(0, size ?? 1);
      if (docs.length === 0) continue;
      if (this.queue.length < this.lowWater && this.backlog) this.feederWake?.();
      try {
        const marks = size === null ? [await this.attempt(docs[0]!)] : await this.attemptBatch(docs);
        for (const m of marks) this.marks.add(this.unstored.has(m.doc._id) ? { ...m, unstored: true } : m);
      } catch (err) {
        // Not attempted: the next claim reads them again (those put back in the queue stay claimed); those without a
        // record are stored as they are (pending) first.
        for (const d of docs) {
          if (this.queue.includes(d)) continue;
          if (this.unstored.has(d._id)) this.marks.add({ doc: d, unstored: true });
          else this.inFlight.delete(d._id);
        }
        this.opts.logger.warn({ err: (err as Error).message }, 'webhook dispatcher: delivery not attempted');
        await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 1_000));
      }
    }
  }

  /** Events per POST now: the settings' `batch` size, or null (one per POST, the single body). */
  private async batchSize(): Promise<number | null> {
    const { batch } = await this.opts.settings.get();
    return batch && Date.now() >= this.singleUntil ? batch : null;
  }

  /** Claims due events from the outbox when needed: at start, when notified, on backlog, retries due, or every poll. */
  private async feed(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 1_000;
    while (!this.stopped) {
      const now = Date.now();
      const interval = this.inFlight.size === 0 ? pollMs : pollMs * BUSY_POLL_FACTOR;
      const room = this.queue.length < this.lowWater && this.inFlight.size < MAX_IN_MEMORY;
      if (room && (this.woken || this.backlog || now >= this.dueAt || now - this.lastClaim >= interval)) {
        this.woken = false;
        try {
          await this.claim();
        } catch (err) {
          this.opts.logger.warn({ err: (err as Error).message }, 'webhook dispatcher: outbox unavailable');
          this.backlog = true;
          await this.sleep(pollMs);
        }
        continue;
      }
      await this.sleep(room ? Math.max(1, Math.min(interval - (now - this.lastClaim), this.dueAt - now)) : pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.feederWake = done;
    });
  }

  /**
   * Reads the oldest due events (one sorted read, served by the `(status, nextAttemptAt)` index) and queues those not
   * already in memory. Claims are held in memory only: one instance process owns its database, and a crash loses
   * only the claims, never the events (still `pending`, read again by the next start).
   */
  private async claim(): Promise<void> {
    const started = Date.now();
    this.lastClaim = started;
    if (started >= this.dueAt) this.dueAt = Infinity;
    const now = new Date(started);
    const due = {
      status: 'pending' as const,
      nextAttemptAt: { $lte: now },
      // Claims of an earlier version (kept in the record) are respected until they run out.
      $or: [{ lockedUntil: null }, { lockedUntil: { $lte: now } }],
    };
    const docs = (await this.outbox.find(due).sort({ nextAttemptAt: 1 }).limit(CLAIM_LIMIT).toArray()) as OutboxDoc[];
    const fresh = docs.filter((d) => !this.inFlight.has(d._id) && !this.recentlyDone.has(d._id));
    // Outcomes stored before this read began are in what it read.
    for (const [id, at] of this.recentlyDone) if (at < started) this.recentlyDone.delete(id);
    this.backlog = docs.length === CLAIM_LIMIT && fresh.length > 0;
    if (this.stopped || fresh.length === 0) return;
    for (const d of fresh) this.inFlight.add(d._id);
    this.queue.push(...fresh);
    this.queue.sort((a, b) => new Date(a.nextAttemptAt).getTime() - new Date(b.nextAttemptAt).getTime());
    this.wakeWorkers();
  }

  /** Schedules a claim for a retry due at `at` (epoch ms). */
  private retryAt(at: number): void {
    if (at < this.dueAt) {
      this.dueAt = at;
      this.feederWake?.();
    }
  }

  /**
   * POSTs `body` once to `url` through the SSRF guard, with the delivery headers (`extra`, then timestamp and attempt)
   * and, with a `secret`, its signature over the timestamp and body (signature.ts); `keepBody`: the answer's body is
   * kept (a batch's answer says how many were taken).
   */
  private post(
    url: string,
    secret: string | null | undefined,
    body: string,
    attempt: number,
    extra: Record<string, string>,
    keepBody = false,
  ): Promise<PostResult> {
    const ts = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'wacloud-webhooks/1',
      ...extra,
      [TIMESTAMP_HEADER]: String(ts),
      [ATTEMPT_HEADER]: String(attempt),
    };
    if (secret) headers[SIGNATURE_HEADER] = sign(secret, ts, body);
    return postWebhook(url, headers, body, {
      guard: this.opts.guard,
      timeoutMs: this.opts.timeoutMs,
      maxResponseBytes: this.opts.maxResponseBytes,
      connections: this.concurrency,
      keepBody,
    });
  }

  /** POSTs `doc` once; returns what to store about it (written in batches by {@link MarkWriter}). */
  private async attempt(doc: OutboxDoc): Promise<Mark> {
    const { logger, metrics } = this.opts;
    const settings = await this.opts.settings.get();
    const attempt = doc.attempts + 1;
    if (!settings.url) {
      // No receiver configured any more: keep the event until one is, checking again later.
      const at = Date.now() + this.opts.retryMaxMs;
      this.retryAt(at);
      return { doc, set: { lockedUntil: null, nextAttemptAt: new Date(at) } };
    }
    const body = JSON.stringify({
      id: doc._id,
      event: doc.event,
      instanceId: this.opts.instanceId,
      createdAt: doc.createdAt,
      payload: doc.payload,
    });
    const r = await this.post(settings.url, settings.secret, body, attempt, { [EVENT_ID_HEADER]: doc._id, [EVENT_TYPE_HEADER]: doc.event });
    const result = this.resultOf(r, attempt);
    metrics?.webhookDeliveries.inc({ result });
    const delay = this.retryDelay(attempt, r);
    if (result === 'retry') {
      const log = logger.child({ eventId: doc._id, event: doc.event, attempt });
      log[isRefusal(r) ? 'warn' : 'info']({ status: r.status, error: errorOf(r), retryInMs: delay }, 'webhook delivery failed; will retry');
    } else if (result === 'failed') {
      const log = logger.child({ eventId: doc._id, event: doc.event, attempt });
      log.warn({ status: r.status, error: errorOf(r) }, 'webhook delivery failed for good; event kept as failed');
    }
    return this.outcome(doc, result, r, errorOf(r), Date.now(), delay);
  }

  /** What attempt `attempt` answered `r` comes to (see {@link DispatcherOptions.retryRefusals}). */
  private resultOf(r: PostResult, attempt: number): AttemptResult {
    const result = r.refused ? 'failed' : classify(r.status, attempt, this.opts.maxAttempts);
    return result === 'failed' && this.opts.retryRefusals ? 'retry' : result;
  }

  /** The wait before the next attempt after `attempt` answered `r`, ms (backoff; Retry-After for 429 and 503). */
  private retryDelay(attempt: number, r: PostResult): number {
    const retryAfterMs = parseRetryAfter(r.retryAfter ?? null);
    return Math.max(
      backoffMs(attempt, this.opts.retryBaseMs, this.opts.retryMaxMs),
      r.status === 429 || r.status === 503 ? (retryAfterMs ?? 0) : 0,
    );
  }

  /** What to store about `doc` after an attempt ended `result` (answer `r`, at `now`; a retry `delay` ms later). */
  private outcome(doc: OutboxDoc, result: AttemptResult, r: PostResult, error: string | null, now: number, delay: number): Mark {
    const last = {
      attempts: doc.attempts + 1,
      lastStatus: r.status,
      lastError: error,
      lastLatencyMs: r.latencyMs,
      lastAttemptAt: new Date(now),
      lastAddress: r.address ?? null,
      lockedUntil: null,
    };
    if (result === 'delivered') {
      if (this.opts.dropDelivered) return { doc, remove: true };
      return { doc, replace: true, set: { ...last, status: 'delivered', deliveredAt: new Date(now), lastError: null } };
    }
    if (result === 'retry') {
      this.retryAt(now + delay);
      return { doc, set: { ...last, nextAttemptAt: new Date(now + delay) } };
    }
    return { doc, set: { ...last, status: 'failed' } };
  }

  /**
   * POSTs the first of `docs` that fit one batch body (`batch.ts`; the others go back to the front of the queue) once;
   * returns what to store about each: those the api took are delivered, the rest retried in their order (each one
   * millisecond after the one before, so a claim reads them back in order). A 400 or 413 answer puts them all back, to
   * go one per POST for {@link SINGLE_FALLBACK_MS} (an api without batches).
   */
  private async attemptBatch(docs: OutboxDoc[]): Promise<Mark[]> {
    const { logger, metrics } = this.opts;
    const settings = await this.opts.settings.get();
    if (!settings.url) {
      const at = Date.now() + this.opts.retryMaxMs;
      this.retryAt(at);
      return docs.map((doc) => ({ doc, set: { lockedUntil: null, nextAttemptAt: new Date(at) } }));
    }
    const { body, count } = batchBody(this.opts.instanceId, docs);
    const sent = docs.slice(0, count);
    if (count < docs.length) this.queue.unshift(...docs.slice(count));
    const attempt = Math.max(...sent.map((d) => d.attempts)) + 1;
    const r = await this.post(settings.url, settings.secret, body, attempt, { [BATCH_HEADER]: String(count) }, true);
    if (r.status === 400 || r.status === 413) {
      this.singleUntil = Date.now() + SINGLE_FALLBACK_MS;
      logger.warn({ status: r.status, events: count }, 'api events: a batch was refused; delivering one event per POST for a while');
      this.queue.unshift(...sent);
      return [];
    }
    const now = Date.now();
    const delay = this.retryDelay(attempt, r);
    let accepted = 0;
    let error = errorOf(r);
    let rest: AttemptResult = this.resultOf(r, attempt);
    if (rest === 'delivered') {
      ({ accepted, error } = acceptedOf(r.body, count));
      rest = attempt >= this.opts.maxAttempts ? 'failed' : 'retry';
    }
    if (accepted > 0) metrics?.webhookDeliveries.inc({ result: 'delivered' }, accepted);
    if (accepted < count) {
      metrics?.webhookDeliveries.inc({ result: rest }, count - accepted);
      const level = isRefusal(r) ? 'warn' : 'info';
      logger[level]({ status: r.status, error, accepted, retried: count - accepted, retryInMs: delay }, 'api events: batch not all taken');
    }
    return sent.map((doc, i) =>
      i < accepted ? this.outcome(doc, 'delivered', r, null, now, 0) : this.outcome(doc, rest, r, error, now, delay + (i - accepted)),
    );
  }
}
