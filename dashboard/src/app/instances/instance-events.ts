import { inject, Injectable } from '@angular/core';
import { RUNTIME_CONFIG, toWebSocketUrl } from '../core/config';
import type { LiveEvent } from '../api/instance-models';
import { SessionStore } from '../core/session';

export type StreamState = 'connecting' | 'open' | 'closed';

export interface EventStream {
  close(): void;
}

/** The live event stream of an instance (WebSocket through the gateway), reconnecting with backoff until closed. */
@Injectable({ providedIn: 'root' })
export class InstanceEvents {
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;
  private readonly session = inject(SessionStore);

  url(instanceId: string, token: string): string {
    const path = `/v1/instances/${encodeURIComponent(instanceId)}/api/v1/events?access_token=${encodeURIComponent(token)}`;
    return toWebSocketUrl(this.base, path, location.origin);
  }

  open(instanceId: string, onEvent: (e: LiveEvent) => void, onState: (s: StreamState) => void = () => {}): EventStream {
    let ws: WebSocket | null = null;
    let closed = false;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const token = this.session.validToken();
      if (closed || !token) return;
      onState('connecting');
      ws = new WebSocket(this.url(instanceId, token));
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
      ws.onclose = () => {
        onState('closed');
        if (closed) return;
        attempt++;
        timer = setTimeout(connect, Math.min(15_000, 500 * 2 ** Math.min(attempt, 5)));
      };
    };
    connect();
    return {
      close() {
        closed = true;
        clearTimeout(timer);
        ws?.close();
      },
    };
  }
}
