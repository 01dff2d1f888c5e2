/**
 * Live events for the WebSocket stream `/v1/events`: session state, QR, pairing code, messages and acks as they
 * happen, in memory only (nothing is replayed to late subscribers).
 */
import { EventEmitter } from 'node:events';

/** A live event as sent on the WebSocket stream: `{ event, data, timestamp }` (timestamp epoch ms). */
export interface LiveEvent {
  event: 'session.status' | 'qr' | 'pairing_code' | 'message' | 'message.ack';
  data: unknown;
  timestamp: number;
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

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }
}
