/**
 * Webhook settings (spec §1.4): where events go, which ones, and the HMAC secret. Stored in the `settings`
 * collection (`_id: "webhook"`), seeded from the WEBHOOK_* environment defaults, cached in memory.
 */
import { createHash } from 'node:crypto';
import type { Store, WebhookSettingsDoc } from './store.js';

/** Event types an instance emits. `*` subscribes to all. */
export const WEBHOOK_EVENTS = ['message', 'message.any', 'message.ack', 'session.status'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookSettings {
  url: string | null;
  secret: string | null;
  events: string[];
}

export class WebhookSettingsService {
  private cached: WebhookSettings | undefined;

  constructor(
    private readonly store: Store,
    private readonly defaults: { url: string | undefined; secret: string | undefined; events: string[] },
  ) {}

  /** Current settings (cached after the first read). */
  async get(): Promise<WebhookSettings> {
    if (this.cached) return this.cached;
    const doc = await this.store.settings.findById('webhook').lean<WebhookSettingsDoc>();
    this.cached = doc
      ? { url: doc.url, secret: doc.secret, events: doc.events }
      : { url: this.defaults.url ?? null, secret: this.defaults.secret ?? null, events: [...this.defaults.events] };
    return this.cached;
  }

  /** Replaces the settings. */
  async put(next: WebhookSettings): Promise<WebhookSettings> {
    await this.store.settings.updateOne({ _id: 'webhook' }, { $set: { ...next, updatedAt: new Date() } }, { upsert: true });
    this.cached = { ...next };
    return this.cached;
  }

  /** Whether `event` should be queued for delivery now. */
  async wants(event: WebhookEvent): Promise<boolean> {
    const s = await this.get();
    return Boolean(s.url) && (s.events.includes('*') || s.events.includes(event));
  }
}

/**
 * A stable event id: the same engine fact (e.g. message X received) always yields the same id, so a replayed
 * engine event is stored — and delivered — once. `evt_` + 32 hex chars.
 */
export function eventId(event: string, key: string): string {
  return `evt_${createHash('sha256').update(`${event}\0${key}`).digest('hex').slice(0, 32)}`;
}
