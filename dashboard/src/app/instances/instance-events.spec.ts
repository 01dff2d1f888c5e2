import { TestBed } from '@angular/core/testing';
import { ApiClient } from '../core/api';
import { RUNTIME_CONFIG } from '../core/config';
import { SessionStore } from '../core/session';
import { backoffMs, InstanceEvents, type StreamState } from './instance-events';

/** A stand-in for the browser's WebSocket that records the URLs it was opened with. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  close() {
    this.onclose?.();
  }
}

function setup() {
  let n = 0;
  const wsTicket = vi.fn(async () => ({ ticket: `wst_T${++n}`, expiresAt: '', expiresInS: 30 }));
  TestBed.configureTestingModule({
    providers: [
      { provide: ApiClient, useValue: { wsTicket } },
      { provide: RUNTIME_CONFIG, useValue: { apiBaseUrl: 'https://api.example.com' } },
      { provide: SessionStore, useValue: { validToken: () => 'jwt-secret' } },
    ],
  });
  return { events: TestBed.inject(InstanceEvents), wsTicket };
}

describe('InstanceEvents', () => {
  beforeEach(() => {
    FakeSocket.opened = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('connects with a fresh single-use ticket each time, never the access token, and reconnects with backoff', async () => {
    const { events, wsTicket } = setup();
    const states: StreamState[] = [];
    const stream = events.open(
      'i-aaaaaaaaaaaa',
      () => {},
      (s) => states.push(s),
    );
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    expect(wsTicket).toHaveBeenCalledWith('i-aaaaaaaaaaaa');
    expect(FakeSocket.opened[0]!.url).toBe('wss://api.example.com/v1/instances/i-aaaaaaaaaaaa/api/v1/events?ticket=wst_T1');
    FakeSocket.opened[0]!.onopen?.();
    FakeSocket.opened[0]!.onclose?.();
    expect(states).toEqual(['connecting', 'open', 'closed']);
    await vi.advanceTimersByTimeAsync(backoffMs(1, () => 0));
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(2));
    expect(FakeSocket.opened[1]!.url).toContain('?ticket=wst_T2');
    for (const s of FakeSocket.opened) expect(s.url).not.toContain('jwt-secret');
    stream.close();
  });

  it('keeps retrying with growing waits while no ticket can be had (the instance is starting, the api restarts)', async () => {
    const { events, wsTicket } = setup();
    wsTicket.mockRejectedValueOnce(new Error('503')).mockRejectedValueOnce(new Error('503'));
    const stream = events.open('i-aaaaaaaaaaaa', () => {});
    await vi.advanceTimersByTimeAsync(backoffMs(1, () => 0) + backoffMs(2, () => 0));
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    expect(wsTicket).toHaveBeenCalledTimes(3);
    stream.close();
  });

  it('backs off from 1 s, doubling, to at most 15 s, with jitter below the step', () => {
    expect([1, 2, 3, 4, 5, 9].map((a) => backoffMs(a, () => 0))).toEqual([1000, 2000, 4000, 8000, 15000, 15000]);
    expect(backoffMs(1, () => 1)).toBe(750);
  });
});
