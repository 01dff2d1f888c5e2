import { TestBed } from '@angular/core/testing';
import { RUNTIME_CONFIG } from '../core/config';
import { SessionStore } from '../core/session';
import { InboxApi } from './inbox-api';
import { CLOSE_REMOVED, CLOSE_RESUME_EXPIRED, CLOSE_RIGHTS_CHANGED, InboxLive } from './inbox-live.service';
import type { LiveFrame } from './inbox-models';

/** A stand-in for the browser's WebSocket that records the URLs it was opened with. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  close() {
    this.onclose?.({ code: 1000 });
  }
  frame(id: number, type = 'message.new') {
    this.onmessage?.({ data: JSON.stringify({ id, type, data: { conversationId: 'cnv_1' }, at: '' }) });
  }
}

function setup() {
  let n = 0;
  const liveTicket = vi.fn(async () => ({ ticket: `wst_L${++n}`, expiresAt: '', expiresInS: 30 }));
  TestBed.configureTestingModule({
    providers: [
      InboxLive,
      { provide: InboxApi, useValue: { liveTicket } },
      { provide: RUNTIME_CONFIG, useValue: { apiBaseUrl: 'https://api.example.com' } },
      { provide: SessionStore, useValue: { validToken: () => 'jwt' } },
    ],
  });
  const live = TestBed.inject(InboxLive);
  const frames: LiveFrame[] = [];
  let resyncs = 0;
  live.frames.subscribe((f) => frames.push(f));
  live.resync.subscribe(() => resyncs++);
  let fresh = 0;
  live.fresh.subscribe(() => fresh++);
  return { live, frames, resyncs: () => resyncs, fresh: () => fresh, liveTicket };
}

const last = () => FakeSocket.opened.at(-1)!;

describe('InboxLive', () => {
  beforeEach(() => {
    FakeSocket.opened = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('connects with a single-use ticket and resumes after the last frame seen, skipping frames seen twice', async () => {
    const { live, frames, fresh } = setup();
    live.start();
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    expect(last().url).toBe('wss://api.example.com/v1/live?ticket=wst_L1');
    expect(fresh()).toBe(0);
    last().onopen?.();
    expect(live.state()).toBe('open');
    expect(fresh()).toBe(1); // no resume point: the lists are read again now
    last().frame(7);
    last().frame(8);
    last().onclose?.({ code: 1006 });
    expect(live.state()).toBe('closed');
    await vi.advanceTimersByTimeAsync(20_000);
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(2));
    expect(last().url).toBe('wss://api.example.com/v1/live?ticket=wst_L2&lastEventId=8');
    last().onopen?.();
    expect(fresh()).toBe(1); // resumed: nothing to read again
    last().frame(8); // the resume overlaps
    last().frame(9);
    expect(frames.map((f) => f.id)).toEqual([7, 8, 9]);
    live.stop();
  });

  it('4410 (resume point expired): refetch the lists and reconnect without a resume point', async () => {
    const { live, resyncs, fresh } = setup();
    live.start();
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    last().frame(3);
    last().onclose?.({ code: CLOSE_RESUME_EXPIRED });
    expect(resyncs()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(2));
    expect(last().url).not.toContain('lastEventId');
    last().onopen?.();
    expect(fresh()).toBe(1);
    live.stop();
  });

  it('4403 (rights changed): refetch and reconnect at once, resuming; 4401 (removed): ended, no reconnect', async () => {
    const { live, resyncs } = setup();
    live.start();
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    last().frame(5);
    last().onclose?.({ code: CLOSE_RIGHTS_CHANGED });
    expect(resyncs()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(2));
    expect(last().url).toContain('lastEventId=5');
    last().onclose?.({ code: CLOSE_REMOVED });
    expect(live.state()).toBe('ended');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.opened).toHaveLength(2);
  });
});
