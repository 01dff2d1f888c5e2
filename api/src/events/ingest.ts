/**
 * The api's ingest of instance events (docs/team.md §1) and the {@link InstanceEventBus} the team layer subscribes to.
 * Each instance delivers every event from its `api` outbox to `POST /internal/v1/instance-events`, signed like a tenant
 * webhook (`X-Wacloud-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, `X-Wacloud-Timestamp`) with
 * a per-instance secret derived from the JWT secret ({@link instanceEventsSecret}). A delivery is taken when:
 * - the body names an instance the api knows (not deleted) — its organisation comes from the api's record;
 * - the signature verifies with that instance's secret and the timestamp is within 5 minutes (replays of an old
 *   delivery are refused);
 * - its event id was not taken before (`instance_events_seen`, unique `_id`, kept 24 h): a redelivery is answered 200
 *   without running the handlers again.
 * Handlers run one after the other, in subscription order; events of one instance one at a time, in arrival order.
 * A handler that throws makes the delivery fail (503), and the instance delivers it again later.
 *
 * Two bodies are taken (both signed the same way): one event `{id, event, instanceId, createdAt, payload}` (every
 * instance image; the only one an instance sends unless its subscription names a `batch` size), and a batch
 * `{instanceId, events: [{id, event, createdAt, payload}, ...]}` ({@link batchBody}: the api's subscriptions ask for
 * {@link INGEST_BATCH}). A batch is handled in order: the ids already taken are read in one query, the handlers run
 * event by event, and the new ids are stored in one `insertMany`. Its answer is 200 `{accepted: k, results, error?}`:
 * the first `k` events are taken (`results[i].duplicate`: taken before), and when `k` is short of the batch, event `k`'s
 * handler failed (`error: {id, code: "ingest_unavailable"}`) — the instance delivers it and those after it again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ApiStore } from '../store.js';
import type { InstanceEvent, InstanceEventBus, InstanceEventHandler } from './instance-events.js';

/** Headers of a delivery (the instance's webhook headers). */
export const SIGNATURE_HEADER = 'x-wacloud-signature';
export const TIMESTAMP_HEADER = 'x-wacloud-timestamp';
/** How old (or early) a delivery's timestamp may be, seconds. */
export const TIMESTAMP_TOLERANCE_S = 300;
/** Events per batch the api asks instances for (their subscription's `batch`), and takes at most. */
export const INGEST_BATCH = 100;
/** Events in one batch body at most. */
export const MAX_BATCH_EVENTS = 500;
/** How long a taken event id is remembered, ms (redeliveries come within the instance's backoff, ≤ 5 min apart). */
export const SEEN_TTL_MS = 24 * 3600_000;

/** The secret instance `instanceId` signs its events with: hex HMAC-SHA256(jwtSecret, "events:" + instanceId). */
export function instanceEventsSecret(jwtSecret: string, instanceId: string): string {
  return createHmac('sha256', jwtSecret).update(`events:${instanceId}`).digest('hex');
}

/** `v1=<hex hmac-sha256(secret, timestamp + "." + body)>` (the instance's `webhooks/signature.ts`). */
export function signEvent(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** The delivery body (the instance dispatcher's): `{id, event, instanceId, createdAt, payload}`. */
export const deliveryBody = z
  .object({
    id: z
      .string()
      .regex(/^evt_[0-9a-f]{32}$/)
      .meta({ description: 'Event id (`evt_` + 32 hex), the same on every redelivery' }),
    event: z.string().min(1).max(100).meta({ description: "Event type: the instance's webhook catalogue plus `session.qr`" }),
    instanceId: z.string().min(1).max(100),
    createdAt: z.iso.datetime().meta({ description: 'When the instance recorded it (ISO 8601)' }),
    payload: z.unknown(),
  })
  .meta({ description: "The instance's delivery, signed with the instance's events secret" });

/** A batch body (instances whose subscription names a `batch` size): one instance's events, in order. */
export const batchBody = z
  .object({
    instanceId: z.string().min(1).max(100),
    events: z
      .array(deliveryBody.omit({ instanceId: true }))
      .min(1)
      .max(MAX_BATCH_EVENTS)
      .meta({ description: 'The events, oldest first; handled in this order' }),
  })
  .meta({ description: "A batch of the instance's events, signed as one body with the instance's events secret" });

/** The answer to a batch. */
export const batchAnswer = z.object({
  accepted: z.number().int().meta({ description: 'How many events, from the first, are taken (new or taken before)' }),
  results: z.array(z.object({ id: z.string(), duplicate: z.boolean() })).meta({ description: 'The taken events, in order' }),
  error: z
    .object({ id: z.string(), code: z.literal('ingest_unavailable') })
    .optional()
    .meta({ description: 'When not all were taken: the event whose handler failed (it and those after: deliver again)' }),
});
export type BatchAnswer = z.infer<typeof batchAnswer>;

interface SeenDoc {
  _id: string;
  instanceId: string;
  at: Date;
}

export interface IngestOptions {
  jwtSecret: string;
  logger: Logger;
  /** Longest age of a timestamp, seconds (default {@link TIMESTAMP_TOLERANCE_S}). */
  toleranceS?: number;
}

export class Ingest implements InstanceEventBus {
  readonly #handlers: InstanceEventHandler[] = [];
  /** Per instance, the end of its last event's handling (events of one instance are handled one at a time). */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: ApiStore,
    private readonly o: IngestOptions,
  ) {}

  private get seen() {
    return this.store.connection.db!.collection<SeenDoc>('instance_events_seen');
  }

  /** Creates the index of the seen ids (TTL where the server has them; {@link sweep} removes them otherwise). */
  async init(): Promise<void> {
    await this.seen.createIndex({ at: 1 }, { expireAfterSeconds: SEEN_TTL_MS / 1000 }).catch(() => this.seen.createIndex({ at: 1 }));
  }

  /** {@inheritDoc InstanceEventBus.subscribe} */
  subscribe(handler: InstanceEventHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  /**
   * Takes one delivery: `raw` is the request body as sent, `headers` its signature and timestamp.
   * @returns whether the event was new (false: a redelivery, handled before).
   * @throws AppError `invalid_request` (400, not a delivery body), `invalid_signature` (401), `instance_not_found`
   *   (404, unknown or deleted instance), `ingest_unavailable` (503, a handler failed: deliver again).
   */
  async receive(
    raw: Buffer,
    headers: { signature?: string | undefined; timestamp?: string | undefined },
  ): Promise<{ duplicate: boolean } | BatchAnswer> {
    let json: unknown;
    let parsed: z.infer<typeof deliveryBody> | z.infer<typeof batchBody>;
    try {
      json = JSON.parse(raw.toString('utf8'));
      parsed = isBatch(json) ? batchBody.parse(json) : deliveryBody.parse(json);
    } catch {
      throw new AppError('invalid_request', 'The body is not an instance event delivery.');
    }
    const ts = Number(headers.timestamp);
    const expected = Buffer.from(signEvent(instanceEventsSecret(this.o.jwtSecret, parsed.instanceId), ts, raw));
    const given = Buffer.from(headers.signature ?? '');
    const fresh = Number.isFinite(ts) && Math.abs(Date.now() / 1000 - ts) <= (this.o.toleranceS ?? TIMESTAMP_TOLERANCE_S);
    if (!fresh || expected.length !== given.length || !timingSafeEqual(expected, given)) throw new AppError('invalid_signature');
    const instance = await this.store.instances.findOne({ _id: parsed.instanceId, deletedAt: null }, { projection: { userId: 1 } });
    if (!instance) throw new AppError('instance_not_found');
    const instanceId = parsed.instanceId;
    const events: InstanceEvent[] = ('events' in parsed ? parsed.events : [parsed]).map((e) => ({
      id: e.id,
      instanceId,
      orgId: instance.userId,
      type: e.event,
      data: e.payload,
      timestamp: Date.parse(e.createdAt),
    }));
    const run = (this.#chains.get(instanceId) ?? Promise.resolve()).then(() => this.handle(events));
    const tail = run.catch(() => undefined);
    this.#chains.set(instanceId, tail);
    void tail.then(() => this.#chains.get(instanceId) === tail && this.#chains.delete(instanceId));
    const answer = await run;
    if ('events' in parsed) return answer;
    if (answer.error) throw new AppError('ingest_unavailable');
    return { duplicate: answer.results[0]!.duplicate };
  }

  /**
   * Handles `events` (one instance's, in order) up to the first whose handlers fail: the ids taken before are read in
   * one query, the new ones stored in one `insertMany` after their handlers succeeded.
   * @throws the driver's error when the seen ids cannot be read or stored (the whole delivery is then retried).
   */
  private async handle(events: InstanceEvent[]): Promise<BatchAnswer> {
    const ids = events.map((e) => e.id);
    const query = ids.length === 1 ? { _id: ids[0]! } : { _id: { $in: ids } };
    const taken = new Set((await this.seen.find(query, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
    const fresh: InstanceEvent[] = [];
    for (const e of events) if (!taken.has(e.id) && !fresh.some((f) => f.id === e.id)) fresh.push(e);
    // Each handler takes the new events (those before the first any handler failed on).
    let applied = fresh.length;
    for (const h of [...this.#handlers]) if (applied > 0) applied = Math.min(applied, await this.runHandler(h, fresh.slice(0, applied)));
    const results: BatchAnswer['results'] = [];
    let error: BatchAnswer['error'];
    const done = new Set(fresh.slice(0, applied).map((e) => e.id));
    for (const e of events) {
      if (done.has(e.id) || taken.has(e.id)) results.push({ id: e.id, duplicate: taken.has(e.id) });
      else {
        error = { id: e.id, code: 'ingest_unavailable' };
        break;
      }
      taken.add(e.id);
    }
    if (done.size)
      await insertSeen(
        this.seen,
        [...done].map((id) => ({ _id: id, instanceId: events[0]!.instanceId, at: new Date() })),
      );
    return { accepted: results.length, results, ...(error ? { error } : {}) };
  }

  /** Runs handler `h` on `events` in order (at once when it has `batch`). @returns how many it applied (fewer: the next failed, logged). */
  private async runHandler(h: InstanceEventHandler, events: InstanceEvent[]): Promise<number> {
    if (h.batch && events.length > 1) {
      const n = await h.batch(events).catch(() => 0);
      if (n < events.length)
        this.o.logger.warn(
          { eventId: events[n]!.id, type: events[n]!.type, instance: events[n]!.instanceId },
          'instance event handler failed',
        );
      return n;
    }
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      try {
        await h(event);
      } catch (err) {
        this.o.logger.warn({ err, eventId: event.id, type: event.type, instance: event.instanceId }, 'instance event handler failed');
        return i;
      }
    }
    return events.length;
  }

  /** Removes seen ids older than {@link SEEN_TTL_MS} (servers without TTL indexes). @returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    return (await this.seen.deleteMany({ at: { $lte: new Date(now - SEEN_TTL_MS) } })).deletedCount;
  }
}

/** Whether `body` is a batch (`{instanceId, events: [...]}`) rather than one event. */
function isBatch(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Array.isArray((body as { events?: unknown }).events);
}

/** insertMany(ordered: false) of seen ids; an id stored meanwhile (another replica took it too) is fine. */
async function insertSeen(col: mongoose.mongo.Collection<SeenDoc>, docs: SeenDoc[]): Promise<void> {
  try {
    if (docs.length === 1) await col.insertOne(docs[0]!);
    else await col.insertMany(docs, { ordered: false });
  } catch (err) {
    const e = err as { code?: number; writeErrors?: Array<{ code: number }> | { code: number } };
    const errors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [{ code: e.code ?? 0 }];
    if (errors.some((w) => w.code !== 11000)) throw err;
  }
}
