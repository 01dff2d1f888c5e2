import { DestroyRef, inject, Injectable, signal } from '@angular/core';
import { Subject } from 'rxjs';
import { RUNTIME_CONFIG, toWebSocketUrl } from '../core/config';
import { SessionStore } from '../core/session';
import { backoffMs } from '../instances/instance-events';
import { InboxApi } from './inbox-api';
import type { LiveFrame } from './inbox-models';

/** `ended`: the member was removed from the team (close code 4401); no reconnection. */
export type LiveState = 'connecting' | 'open' | 'closed' | 'ended';

/** Close codes of `/v1/live` (docs/team.md §2). */
export const CLOSE_REMOVED = 4401;
export const CLOSE_RIGHTS_CHANGED = 4403;
export const CLOSE_RESUME_EXPIRED = 4410;

/**
 * The member's live socket (`/v1/live`): every organisation event the member may see, as `{id, type, data, at}` frames.
 * Each connection asks for a single-use ticket first (no token in the URL) and resumes after the last frame seen
 * (`lastEventId`), so a reconnect loses nothing; reconnects with backoff (1 s doubling to 15 s). `resync` fires when
 * the lists must be fetched again: the resume point expired (4410) or the member's rights changed (4403); `fresh` when
 * a connection without a resume point opened (the lists miss what happened before it). Provided
 * by the Inbox page, closed with it.
 */
@Injectable()
export class InboxLive {
  private readonly base = inject(RUNTIME_CONFIG).apiBaseUrl;
  private readonly session = inject(SessionStore);
  private readonly api = inject(InboxApi);

  readonly state = signal<LiveState>('closed');
  readonly frames = new Subject<LiveFrame>();
  readonly resync = new Subject<void>();
  /**
   * A connection opened without a resume point (the first one, or after 4410): it carries what happens from now on,
   * so what happened before it must come from the lists, read again now.
   */
  readonly fresh = new Subject<void>();
  /** The id of the last frame handled: the resume point. */
  lastEventId: number | null = null;

  private ws: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.stop());
  }

  url(ticket: string): string {
    const q = `ticket=${encodeURIComponent(ticket)}${this.lastEventId !== null ? `&lastEventId=${this.lastEventId}` : ''}`;
    return toWebSocketUrl(this.base, `/v1/live?${q}`, location.origin);
  }

  /** Connects (once); frames arrive on `frames`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    if (this.state() !== 'ended') this.state.set('closed');
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.session.validToken()) return;
    this.state.set('connecting');
    let ticket: string;
    try {
      ticket = (await this.api.liveTicket()).ticket;
    } catch {
      return this.retry();
    }
    if (this.stopped) return;
    const resumed = this.lastEventId !== null;
    const ws = new WebSocket(this.url(ticket));
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.state.set('open');
      if (!resumed) this.fresh.next();
    };
    ws.onmessage = (m) => this.onMessage(String(m.data));
    ws.onclose = (e) => this.onClose(e.code);
  }

  private onMessage(raw: string): void {
    let frame: LiveFrame;
    try {
      frame = JSON.parse(raw) as LiveFrame;
    } catch {
      return; // a malformed frame
    }
    if (!frame || typeof frame.id !== 'number' || typeof frame.type !== 'string') return;
    if (this.lastEventId !== null && frame.id <= this.lastEventId) return; // already handled (resume overlap)
    this.lastEventId = frame.id;
    this.frames.next(frame);
  }

  private onClose(code: number): void {
    this.ws = null;
    if (code === CLOSE_REMOVED) {
      this.stopped = true;
      this.state.set('ended');
      return;
    }
    if (code === CLOSE_RESUME_EXPIRED) this.lastEventId = null;
    const refetch = code === CLOSE_RESUME_EXPIRED || code === CLOSE_RIGHTS_CHANGED;
    if (refetch) this.resync.next();
    this.retry(refetch);
  }

  /** Reconnects after the backoff, or at once (100 ms) when the server asked for a reconnect. */
  private retry(soon = false): void {
    this.state.set('closed');
    if (this.stopped) return;
    this.attempt++;
    this.timer = setTimeout(() => void this.connect(), soon ? 100 : backoffMs(this.attempt));
  }
}
