/**
 * The platform's own subscription to this instance's events (target `api`; docs/team.md §1): the catalogue events
 * plus the api-only `session.qr` — those the api names when it subscribes, or every one —, delivered from an outbox of its own (`api_outbox`) to the main api's ingest
 * (`POST /internal/v1/instance-events`), signed like tenant webhooks and retried with the same backoff. Set only by the
 * api through the internal API (`PUT /internal/v1/api-subscription`), stored in `settings` (`_id: "api-subscription"`),
 * never shown to tenants. Its URL is the platform's own address (a cluster Service, loopback for the process
 * provider), so it is not subject to the SSRF guard: {@link platformTarget} only resolves it.
 *
 * Batches: when the api sets `batch` (an api that takes `{instanceId, events: [...]}` bodies, docs/team.md §1), up to
 * that many due events go in one POST, in order (`batch.ts`); without it (an older api) one event per POST.
 */
import { lookup } from 'node:dns/promises';
import type { Store } from '../storage/store.js';
import type { CheckedTarget, WebhookGuard } from './ssrf.js';
import { WebhookRefusedError, WebhookResolveError } from './ssrf.js';

/** Events only the api receives (tenants cannot subscribe to them): the login QR (`{qr, image}`), per new QR. */
export const API_ONLY_EVENTS = ['session.qr'] as const;
export type ApiOnlyEvent = (typeof API_ONLY_EVENTS)[number];

/** The stored subscription. */
export interface ApiSubscriptionDoc {
  _id: 'api-subscription';
  url: string | null;
  secret: string | null;
  /** Event types queued for the api; null or absent: every event (the catalogue plus {@link API_ONLY_EVENTS}). */
  events?: string[] | null;
  /** Events per POST at most (the api takes batch bodies); null or absent: one event per POST, the single body. */
  batch?: number | null;
  updatedAt: Date;
}

/** As the internal API shows it: the secret never, only whether one is set. */
export interface ApiSubscriptionView {
  url: string | null;
  secretSet: boolean;
  /** The event types queued for the api; null: every event. */
  events: string[] | null;
  /** Events per POST at most; null: one per POST (the single-event body). */
  batch: number | null;
}

interface Current {
  url: string | null;
  secret: string | null;
  events: ReadonlySet<string> | null;
  batch: number | null;
}

const ID = 'api-subscription' as const;

export class ApiSubscription {
  private cached: Current | undefined;

  /** @param onChange called after every change (wakes the api dispatcher) */
  constructor(
    private readonly store: Store,
    private readonly onChange: () => void = () => {},
  ) {}

  private get col() {
    return this.store.connection.db!.collection<ApiSubscriptionDoc>('settings');
  }

  /** The receiver, its secret and the event types it takes (cached after the first read); url and secret null when none is set. */
  async get(): Promise<Current> {
    if (this.cached) return this.cached;
    const doc = await this.col.findOne({ _id: ID });
    this.cached = {
      url: doc?.url ?? null,
      secret: doc?.secret ?? null,
      events: doc?.events ? new Set(doc.events) : null,
      batch: doc?.batch ?? null,
    };
    return this.cached;
  }

  /** Whether `event` is queued for the api now: a subscription is set and takes that event type. */
  async wants(event: string): Promise<boolean> {
    const s = await this.get();
    return Boolean(s.url) && (s.events === null || s.events.has(event));
  }

  async view(): Promise<ApiSubscriptionView> {
    const s = await this.get();
    return { url: s.url, secretSet: Boolean(s.secret), events: s.events ? [...s.events] : null, batch: s.batch };
  }

  /**
   * Sets (or with `url: null` removes) the subscription; idempotent. Events queued while none was set are not kept.
   * @param events the event types to queue for the api (the api names those it consumes); null: every event.
   * @param batch events per POST at most (the api takes batch bodies); null: one per POST (an api that does not).
   * @throws the driver's error when the database is unreachable.
   */
  async set(
    url: string | null,
    secret: string | null,
    events: readonly string[] | null = null,
    batch: number | null = null,
  ): Promise<ApiSubscriptionView> {
    const list = events ? [...new Set(events)] : null;
    await this.col.updateOne({ _id: ID }, { $set: { url, secret, events: list, batch, updatedAt: new Date() } }, { upsert: true });
    this.cached = { url, secret, events: list ? new Set(list) : null, batch };
    this.onChange();
    return this.view();
  }
}

/**
 * The connection target of the platform's own receiver: http(s) only, its host resolved (first address), no range
 * refused. @throws WebhookRefusedError for another scheme; WebhookResolveError when the name does not resolve.
 */
export const platformTarget: Pick<WebhookGuard, 'target'> = {
  async target(raw: string): Promise<CheckedTarget> {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookRefusedError('only http and https URLs are allowed');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    try {
      const { address, family } = await lookup(host);
      return { url, host, address, family: family === 6 ? 6 : 4 };
    } catch (err) {
      throw new WebhookResolveError(`the host name ${host} could not be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  },
};
