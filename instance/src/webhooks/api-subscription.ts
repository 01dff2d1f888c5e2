/**
 * The platform's own subscription to this instance's events (target `api`; docs/team.md §1): every catalogue event
 * plus the api-only `session.qr`, delivered from an outbox of its own (`api_outbox`) to the main api's ingest
 * (`POST /internal/v1/instance-events`), signed like tenant webhooks and retried with the same backoff. Set only by the
 * api through the internal API (`PUT /internal/v1/api-subscription`), stored in `settings` (`_id: "api-subscription"`),
 * never shown to tenants. Its URL is the platform's own address (a cluster Service, loopback for the process
 * provider), so it is not subject to the SSRF guard: {@link platformTarget} only resolves it.
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
  updatedAt: Date;
}

/** As the internal API shows it: the secret never, only whether one is set. */
export interface ApiSubscriptionView {
  url: string | null;
  secretSet: boolean;
}

const ID = 'api-subscription' as const;

export class ApiSubscription {
  private cached: { url: string | null; secret: string | null } | undefined;

  /** @param onChange called after every change (wakes the api dispatcher) */
  constructor(
    private readonly store: Store,
    private readonly onChange: () => void = () => {},
  ) {}

  private get col() {
    return this.store.connection.db!.collection<ApiSubscriptionDoc>('settings');
  }

  /** The receiver and its secret (cached after the first read); both null when none is set. */
  async get(): Promise<{ url: string | null; secret: string | null }> {
    if (this.cached) return this.cached;
    const doc = await this.col.findOne({ _id: ID });
    this.cached = { url: doc?.url ?? null, secret: doc?.secret ?? null };
    return this.cached;
  }

  /** Whether events are queued for the api now. */
  async wants(): Promise<boolean> {
    return Boolean((await this.get()).url);
  }

  async view(): Promise<ApiSubscriptionView> {
    const s = await this.get();
    return { url: s.url, secretSet: Boolean(s.secret) };
  }

  /**
   * Sets (or with `url: null` removes) the subscription; idempotent. Events queued while none was set are not kept.
   * @throws the driver's error when the database is unreachable.
   */
  async set(url: string | null, secret: string | null): Promise<ApiSubscriptionView> {
    await this.col.updateOne({ _id: ID }, { $set: { url, secret, updatedAt: new Date() } }, { upsert: true });
    this.cached = { url, secret };
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
