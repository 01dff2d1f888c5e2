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
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
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
const deliveryBody = z.object({
  id: z.string().regex(/^evt_[0-9a-f]{32}$/),
  event: z.string().min(1).max(100),
  instanceId: z.string().min(1).max(100),
  createdAt: z.string().or(z.number()),
  payload: z.unknown(),
});

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
  async receive(raw: Buffer, headers: { signature?: string | undefined; timestamp?: string | undefined }): Promise<{ duplicate: boolean }> {
    let parsed: z.infer<typeof deliveryBody>;
    try {
      parsed = deliveryBody.parse(JSON.parse(raw.toString('utf8')));
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
    const event: InstanceEvent = {
      id: parsed.id,
      instanceId: parsed.instanceId,
      orgId: instance.userId,
      type: parsed.event,
      data: parsed.payload,
      timestamp: typeof parsed.createdAt === 'number' ? parsed.createdAt : Date.parse(parsed.createdAt),
    };
    const run = (this.#chains.get(event.instanceId) ?? Promise.resolve()).then(() => this.handle(event));
    const tail = run.catch(() => undefined);
    this.#chains.set(event.instanceId, tail);
    void tail.then(() => this.#chains.get(event.instanceId) === tail && this.#chains.delete(event.instanceId));
    return run;
  }

  private async handle(event: InstanceEvent): Promise<{ duplicate: boolean }> {
    if (await this.seen.findOne({ _id: event.id }, { projection: { _id: 1 } })) return { duplicate: true };
    for (const h of [...this.#handlers]) {
      try {
        await h(event);
      } catch (err) {
        this.o.logger.warn({ err, eventId: event.id, type: event.type, instance: event.instanceId }, 'instance event handler failed');
        throw new AppError('ingest_unavailable');
      }
    }
    try {
      await this.seen.insertOne({ _id: event.id, instanceId: event.instanceId, at: new Date() });
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    return { duplicate: false };
  }

  /** Removes seen ids older than {@link SEEN_TTL_MS} (servers without TTL indexes). @returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    return (await this.seen.deleteMany({ at: { $lte: new Date(now - SEEN_TTL_MS) } })).deletedCount;
  }
}
