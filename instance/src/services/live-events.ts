/**
 * Live events for the WebSocket stream `/v1/events`: session state, QR, pairing code, messages, acks and the send
 * queue's statuses (`message.status`: queued, sending, sent, failed) and the sync after login's progress
 * (`sync.progress`) as they happen, in memory only (nothing is replayed to late subscribers).
 */
import { EventEmitter } from 'node:events';
import type { Permission } from '../storage/store.js';
import { grants } from './tokens.js';

/** A live event as sent on the WebSocket stream: `{ event, data, timestamp }` (timestamp epoch ms). */
export interface LiveEvent {
  event:
    | 'session.status'
    | 'qr'
    | 'pairing_code'
    | 'message'
    | 'message.ack'
    | 'message.status'
    // Sync after login (services/sync.ts):
    | 'sync.progress'
    // Message actions, presence and groups (services/action-events.ts):
    | 'message.reaction'
    | 'message.edit'
    | 'message.revoked'
    | 'presence'
    | 'group.update';
  data: unknown;
  timestamp: number;
}

/**
 * Events that let whoever sees them link a WhatsApp account to this instance (the QR, the pairing code): logging in is
 * a w right, so only subscribers whose token grants w receive them.
 */
export const LOGIN_EVENTS: ReadonlySet<LiveEvent['event']> = new Set(['qr', 'pairing_code']);

/** Whether a token with `permissions` may see `event` (login events need w). */
export function mayReceive(permissions: Permission, event: LiveEvent['event']): boolean {
  return !LOGIN_EVENTS.has(event) || grants(permissions, 'w');
}

export class LiveEvents {
  readonly #emitter = new EventEmitter<{ event: [LiveEvent] }>();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  /** Sends `data` as `event` to every subscriber now. */
  publish(event: LiveEvent['event'], data: unknown): void {
    this.#emitter.emit('event', { event, data, timestamp: Date.now() });
  }

  /**
   * Calls `listener` for every event from now on; returns the unsubscribe function. With `permissions` (the
   * subscriber's token), the {@link LOGIN_EVENTS} reach it only when they grant w; without, every event does (for
   * subscribers inside the service only).
   */
  subscribe(listener: (e: LiveEvent) => void, permissions?: Permission): () => void {
    const deliver = permissions === undefined ? listener : (e: LiveEvent) => mayReceive(permissions, e.event) && listener(e);
    this.#emitter.on('event', deliver);
    return () => this.#emitter.off('event', deliver);
  }
}
