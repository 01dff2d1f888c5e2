/**
 * Keeps every instance subscribed to the api's ingest (docs/team.md §1): `PUT /internal/v1/api-subscription
 * {url: <API_EVENTS_URL>/internal/v1/instance-events, secret: <the instance's events secret>, events: INGESTED_EVENTS,
 * batch: INGEST_BATCH}` on its internal API (an instance image older than batches refuses `batch` with 400: it is
 * subscribed again without it, and delivers one event per POST).
 * Idempotent, so it is simply done again:
 * - whenever the api learns an instance's endpoints ({@link withSubscriptions} wraps the provider) and the instance
 *   was not subscribed from this replica at those endpoints within `recheckMs`;
 * - every `tickMs` for each running instance not subscribed within `recheckMs` (instances started elsewhere, a
 *   restarted pod whose database was replaced, a missed first attempt).
 */
import { SingleFlight } from '@wacloud/kit';
import type { Logger } from 'pino';
import { call } from '../instance-client.js';
import type { InstanceEndpoints, InstanceProvider } from '../providers/index.js';
import type { ApiStore } from '../store.js';
import { INGEST_PATH } from './ingest-routes.js';
import { INGEST_BATCH, instanceEventsSecret } from './ingest.js';

/**
 * The instance events the api consumes, named in every subscription so an instance queues nothing else for it (each
 * queued event is one outbox record and one ingest request): `message.any` and `message.ack` (the inbox,
 * `inbox/events.ts`), `session.status` (live instance state `live/instance-feed.ts`, the contact sync after a login
 * `contacts/sync.ts`), `session.qr` (live QR). A new consumer of another event type adds it here.
 */
export const INGESTED_EVENTS = ['message.any', 'message.ack', 'session.status', 'session.qr'] as const;

export interface SubscriptionOptions {
  jwtSecret: string;
  logger: Logger;
  /** How often every instance is looked at, ms (default 10 s). */
  tickMs?: number;
  /** How long a subscription made from this replica is trusted before it is made again, ms (default 5 min). */
  recheckMs?: number;
}

export class ApiSubscriptions {
  readonly #done = new Map<string, { internalUrl: string; at: number }>();
  readonly #subscribing = new SingleFlight<string, void>();
  #timer: NodeJS.Timeout | undefined;
  #provider: Pick<InstanceProvider, 'endpoints'> | undefined;
  #url: string | undefined;

  constructor(
    private readonly store: ApiStore,
    private readonly o: SubscriptionOptions,
  ) {}

  /** The ingest URL instances are subscribed to (once started). */
  get url(): string | undefined {
    return this.#url;
  }

  /**
   * Starts subscribing instances to `baseUrl` (API_EVENTS_URL: how instances reach the api), with a periodic pass over
   * the instances, endpoints from `provider`.
   */
  start(provider: Pick<InstanceProvider, 'endpoints'>, baseUrl: string): void {
    this.#provider = provider;
    this.#url = baseUrl.replace(/\/+$/, '') + INGEST_PATH;
    const tick = () => void this.pass().catch((err: unknown) => this.o.logger.warn({ err }, 'api subscriptions: pass failed'));
    this.#timer = setInterval(tick, this.o.tickMs ?? 10_000);
    this.#timer.unref();
    tick();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The api learned instance `id`'s endpoints: subscribes it unless done lately at those endpoints. Never throws. */
  learned(id: string, ep: InstanceEndpoints): void {
    if (!this.#url) return;
    const d = this.#done.get(id);
    if (d && d.internalUrl === ep.internalUrl && Date.now() - d.at < (this.o.recheckMs ?? 300_000)) return;
    void this.ensure(id, ep).catch(() => undefined);
  }

  /**
   * Subscribes instance `id` (at `ep`) now; concurrent calls for one instance share the request.
   * @throws AppError `instance_unavailable` / `upstream_error` when its internal API fails; Error when it refuses.
   */
  ensure(id: string, ep: InstanceEndpoints): Promise<void> {
    const running = this.#subscribing.get(id);
    if (running) return running;
    const url = this.#url;
    if (!url) return Promise.resolve();
    const p = this.#subscribing.run(id, async () => {
      const sub = { url, secret: instanceEventsSecret(this.o.jwtSecret, id), events: INGESTED_EVENTS };
      let r = await call(this.o.logger, ep, 'PUT', '/internal/v1/api-subscription', { ...sub, batch: INGEST_BATCH });
      if (r.status === 400) r = await call(this.o.logger, ep, 'PUT', '/internal/v1/api-subscription', sub); // no batches yet
      if (r.status !== 200) throw new Error(`the instance refused the api subscription (${r.status})`);
      this.#done.set(id, { internalUrl: ep.internalUrl, at: Date.now() });
    });
    p.catch((err: unknown) => this.o.logger.warn({ err, instance: id }, 'api subscription not set; retrying later'));
    return p;
  }

  /** One pass: every running instance not subscribed lately. */
  async pass(): Promise<void> {
    const provider = this.#provider;
    if (!provider) return;
    const recheckMs = this.o.recheckMs ?? 300_000;
    const docs = await this.store.instances
      .find({ deletedAt: null, suspended: false, stopped: { $ne: true } }, { projection: { _id: 1 } })
      .toArray();
    const live = new Set(docs.map((d) => d._id));
    for (const id of this.#done.keys()) if (!live.has(id)) this.#done.delete(id);
    for (const { _id: id } of docs) {
      const d = this.#done.get(id);
      if (d && Date.now() - d.at < recheckMs) continue;
      try {
        await this.ensure(id, await provider.endpoints(id));
      } catch {
        // Not running yet, or its internal API failed: the next pass tries again.
      }
    }
  }
}

/** `provider` whose `endpoints` also report each answer to `subs` ({@link ApiSubscriptions.learned}). */
export function withSubscriptions(provider: InstanceProvider, subs: ApiSubscriptions): InstanceProvider {
  const endpoints: InstanceProvider['endpoints'] = async (id, opts) => {
    const ep = await provider.endpoints(id, opts);
    subs.learned(id, ep);
    return ep;
  };
  return new Proxy(provider, {
    get(target, prop, receiver) {
      if (prop === 'endpoints') return endpoints;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
