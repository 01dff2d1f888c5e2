/**
 * Webhook settings: where events go, which ones, and the HMAC secret. Stored in the `settings`
 * collection (`_id: "webhook"`), seeded from the WEBHOOK_* environment defaults, cached in memory.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../storage/store.js';

/** Event types an instance emits. `*` subscribes to all. */
export const WEBHOOK_EVENTS = [
  'message',
  'message.any',
  'message.ack',
  'session.status',
  // Message actions, presence and groups (services/action-events.ts):
  'message.reaction',
  'message.edit',
  'message.revoked',
  'presence',
  'group.update',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookSettings {
  url: string | null;
  secret: string | null;
  events: string[];
}

export class WebhookSettingsService {
  private cached: WebhookSettings | undefined;

  /**
   * @param defaults the settings until the first {@link replace} (from the WEBHOOK_* environment)
   * @param onChange called after every change (wakes the dispatcher)
   */
  constructor(
    private readonly store: Store,
    private readonly defaults: { url: string | undefined; secret: string | undefined; events: readonly string[] },
    private readonly onChange: () => void = () => {},
  ) {}

  /** Current settings (cached after the first read). */
  async get(): Promise<WebhookSettings> {
    if (this.cached) return this.cached;
    const doc = await this.store.settings.findOne({ _id: 'webhook' });
    this.cached = doc
      ? { url: doc.url, secret: doc.secret, events: doc.events }
      : { url: this.defaults.url ?? null, secret: this.defaults.secret ?? null, events: [...this.defaults.events] };
    return this.cached;
  }

  /**
   * Replaces the settings; a `secret` left undefined keeps the current one (null removes it). Resolves with the new
   * settings. @throws the driver's error when the database is unreachable.
   */
  async replace(next: { url: string | null; secret?: string | null | undefined; events: string[] }): Promise<WebhookSettings> {
    const secret = next.secret === undefined ? (await this.get()).secret : next.secret;
    const settings: WebhookSettings = { url: next.url, secret, events: next.events };
    await this.store.settings.updateOne({ _id: 'webhook' }, { $set: { ...settings, updatedAt: new Date() } }, { upsert: true });
    this.cached = settings;
    this.onChange();
    return settings;
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
