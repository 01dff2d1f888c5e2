import { inject, Injectable } from '@angular/core';
import { RUNTIME_CONFIG, toWebSocketUrl } from '../core/config';
import { ApiClient } from '../core/api';
import type { LiveEvent } from '../api/instance-models';
import { SessionStore } from '../core/session';

export type StreamState = 'connecting' | 'open' | 'closed';

export interface EventStream {
  close(): void;
}

/** Longest wait between two connection attempts, ms. */
const MAX_BACKOFF_MS = 15_000;

/** Wait before reconnection attempt `attempt` (1, 2, …): 1 s doubling to 15 s, with up to 25 % jitter, ms. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 5));
  return Math.round(base * (1 - 0.25 * random()));
}

/**
 * The live event stream of an instance (WebSocket through the gateway), reconnecting with backoff until closed. Each
 * connection first asks the api for a single-use ticket with the access token in the header, then connects with
 * `?ticket=`: no access token ever appears in a URL (the gateway refuses them there).
 */
@Injectable({ providedIn: 'root' })
export class InstanceEvents {
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;
  private readonly session = inject(SessionStore);
  private readonly api = inject(ApiClient);

  url(instanceId: string, ticket: string): string {
    const path = `/v1/instances/${encodeURIComponent(instanceId)}/api/v1/events?ticket=${encodeURIComponent(ticket)}`;
    return toWebSocketUrl(this.base, path, location.origin);
  }

  open(instanceId: string, onEvent: (e: LiveEvent) => void, onState: (s: StreamState) => void = () => {}): EventStream {
    let ws: WebSocket | null = null;
    let closed = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const retry = () => {
      onState('closed');
      if (closed) return;
      attempt++;
      timer = setTimeout(() => void connect(), backoffMs(attempt));
    };
    const connect = async () => {
      if (closed || !this.session.validToken()) return;
      onState('connecting');
      let ticket: string;
      try {
        ticket = (await this.api.wsTicket(instanceId)).ticket;
      } catch {
        return retry();
      }
      if (closed) return;
      ws = new WebSocket(this.url(instanceId, ticket));
      ws.onopen = () => {
        attempt = 0;
        onState('open');
      };
      ws.onmessage = (m) => {
        try {
          const frame = JSON.parse(String(m.data)) as LiveEvent;
          if (frame && typeof frame.event === 'string') onEvent(frame);
        } catch {
          /* ignore a malformed frame */
        }
      };
      ws.onclose = retry;
    };
    void connect();
    return {
      close() {
        closed = true;
        clearTimeout(timer);
        ws?.close();
      },
    };
  }
}
