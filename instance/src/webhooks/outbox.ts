/**
 * Queuing webhook events: an event the settings subscribe to becomes an outbox record (status `pending`) written by the
 * persister after the data it refers to; the dispatcher delivers it. An event of an inbound message (`journalSeq`: its
 * journal entry) may instead be handed to the dispatcher by the persister before it is stored, and stored once with
 * its outcome (storage/persistence.ts `deferEvents`). The record's id is stable per engine fact
 * ({@link eventId}), so a replayed fact is stored, and delivered, once.
 */
import type { Persister } from '../storage/persistence.js';
import type { OutboxDoc } from '../storage/store.js';
import type { ApiOnlyEvent, ApiSubscription } from './api-subscription.js';
import { WEBHOOK_EVENTS, eventId, type WebhookEvent, type WebhookSettingsService } from './settings.js';

const CATALOGUE: ReadonlySet<string> = new Set(WEBHOOK_EVENTS);

export class WebhookOutbox {
  /** @param api the platform's subscription (target `api`): the events it takes, api-only ones included, when it is set */
  constructor(
    private readonly settings: WebhookSettingsService,
    private readonly persister: Persister,
    private readonly api?: ApiSubscription,
  ) {}

  /**
   * Queues `event` with `payload` for the tenant's webhook when its settings subscribe to it (catalogue events only),
   * and for the api when its subscription is set and takes `event` (`api_outbox`); `key` names the engine fact (e.g. the message id) and
   * makes the event id (the same for both targets); `journalSeq`: the inbound journal entry of the message it is of.
   */
  async queue(event: WebhookEvent | ApiOnlyEvent, key: string, payload: unknown, journalSeq?: number): Promise<void> {
    const tenant = CATALOGUE.has(event) && (await this.settings.wants(event as WebhookEvent));
    const api = (await this.api?.wants(event)) ?? false;
    if (!tenant && !api) return;
    const doc = this.record(event, key, payload);
    if (tenant) this.persister.enqueue({ kind: 'event', doc, journalSeq });
    if (api) this.persister.enqueue({ kind: 'event', doc: { ...doc }, target: 'api', journalSeq });
  }

  private record(event: string, key: string, payload: unknown): OutboxDoc {
    const now = new Date();
    return {
      _id: eventId(event, key),
      event,
      payload,
      createdAt: now,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      lockedUntil: null,
    };
  }
}
