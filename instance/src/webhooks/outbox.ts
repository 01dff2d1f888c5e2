/**
 * Queuing webhook events: an event the settings subscribe to becomes an outbox record (status `pending`) written by the
 * persister after the data it refers to; the dispatcher delivers it. The record's id is stable per engine fact
 * ({@link eventId}), so a replayed fact is stored, and delivered, once.
 */
import type { Persister } from '../storage/persistence.js';
import { eventId, type WebhookEvent, type WebhookSettingsService } from './settings.js';

export class WebhookOutbox {
  constructor(
    private readonly settings: WebhookSettingsService,
    private readonly persister: Persister,
  ) {}

  /**
   * Queues `event` with `payload` when the settings subscribe to it; `key` names the engine fact (e.g. the message
   * id) and makes the event id.
   */
  async queue(event: WebhookEvent, key: string, payload: unknown): Promise<void> {
    if (!(await this.settings.wants(event))) return;
    const now = new Date();
    this.persister.enqueue({
      kind: 'event',
      doc: {
        _id: eventId(event, key),
        event,
        payload,
        createdAt: now,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lockedUntil: null,
      },
    });
  }
}
