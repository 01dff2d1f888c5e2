/**
 * Reconnect and health end to end on the simulated network: a real instance process (simulated engine), a real
 * simnet process and a real MongoDB-wire server. The network drops the device → the session is DISCONNECTED and comes
 * back by itself with backoff, without a new scan; the phone stays offline longer than the retry budget → FAILED and
 * `/health/live` answers 503 until a new start. The backoff is made small through the configuration; the asserts are
 * about order and outcomes, never timing.
 */
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

const PHONE = '15550007001';
let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  inst = await startInstance({
    mongo,
    simnetUrl: simnet.url,
    env: { RECONNECT_INITIAL_DELAY_MS: '50', RECONNECT_MAX_DELAY_MS: '200', RECONNECT_MAX_ATTEMPTS: '3' },
  });
}, 60_000);

afterAll(async () => {
  await inst?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

interface LiveEvent {
  event: string;
  data: any;
}

function subscribe(token: string): Promise<{ ws: WebSocket; events: LiveEvent[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${inst.publicUrl.replace('http', 'ws')}/v1/events?token=${token}`);
    const events: LiveEvent[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString()) as LiveEvent));
    ws.once('open', () => resolve({ ws, events }));
    ws.once('error', reject);
  });
}

/** The `session.status` events as `[state, reason]`, from index `from` on. */
const statuses = (events: LiveEvent[], from = 0) =>
  events
    .slice(from)
    .filter((e) => e.event === 'session.status')
    .map((e) => [e.data.state, e.data.reason] as [string, string | undefined]);

const probe = async (path: string) => {
  const res = await inst.api('GET', path);
  return { status: res.status, body: res.body };
};

test('a dropped connection comes back by itself without a scan; an offline phone past the budget → FAILED, liveness 503', async () => {
  const rw = await inst.token('rw');
  const { ws, events } = await subscribe(rw);
  await eventually(() => statuses(events).length > 0);
  expect((await probe('/health/live')).status).toBe(200);
  expect((await probe('/health/ready')).body).toMatchObject({ status: 'not_ready', state: 'STOPPED' });

  // Login: AUTHENTICATING between the scan and WORKING.
  await loginWithQr(inst, simnet, PHONE, rw);
  await eventually(() => statuses(events).some(([s]) => s === 'WORKING'));
  expect(statuses(events).map(([s]) => s)).toEqual(['STOPPED', 'STARTING', 'SCAN_QR_CODE', 'AUTHENTICATING', 'WORKING']);
  expect((await probe('/health/ready')).body).toEqual({ status: 'ok', state: 'WORKING' });
  const qrs = events.filter((e) => e.event === 'qr').length;
  expect(qrs).toBe(1);

  // The network drops the device: DISCONNECTED with the reason, then a reconnect with the stored session.
  let mark = events.length;
  expect((await simnet.hook('/hooks/disconnect', { phone: PHONE })).body).toEqual({ dropped: 1, offline: false });
  await eventually(() => statuses(events, mark).some(([s]) => s === 'WORKING'), 15_000);
  expect(statuses(events, mark)).toEqual([
    ['DISCONNECTED', 'connection to the simulated network lost (1006)'],
    ['STARTING', 'reconnecting (attempt 1 of 3)'],
    ['AUTHENTICATING', undefined],
    ['WORKING', undefined],
  ]);
  const disconnected = events.slice(mark).find((e) => e.event === 'session.status' && e.data.state === 'DISCONNECTED')!;
  expect(disconnected.data.reconnect).toMatchObject({ attempt: 1, maxAttempts: 3, exhausted: false, retryAt: expect.any(String) });
  expect(events.filter((e) => e.event === 'qr')).toHaveLength(qrs); // no new QR
  expect((await probe('/health')).body.session).toEqual({ state: 'WORKING' });
  expect((await probe('/health/live')).status).toBe(200);

  // The phone goes offline for longer than the budget: every retry is refused, then FAILED and liveness fails.
  mark = events.length;
  await simnet.hook('/hooks/disconnect', { phone: PHONE, offline: true });
  await eventually(() => statuses(events, mark).some(([s]) => s === 'FAILED'), 15_000);
  const offline = statuses(events, mark);
  // The drop, then three retries refused by the network (code 1013), then the budget (3) is spent.
  expect(offline.map(([s]) => s)).toEqual(['DISCONNECTED', 'STARTING', 'DISCONNECTED', 'STARTING', 'DISCONNECTED', 'STARTING', 'FAILED']);
  expect(offline.filter(([s]) => s === 'DISCONNECTED').map(([, r]) => r)).toEqual([
    'connection to the simulated network lost (1006)',
    'connection to the simulated network lost (1013 phone offline)',
    'connection to the simulated network lost (1013 phone offline)',
  ]);
  expect(offline.filter(([s]) => s === 'STARTING').map(([, r]) => r)).toEqual([
    'reconnecting (attempt 1 of 3)',
    'reconnecting (attempt 2 of 3)',
    'reconnecting (attempt 3 of 3)',
  ]);
  expect(offline.at(-1)![1]).toBe('connection to the simulated network lost (1013 phone offline); gave up after 3 reconnect attempts');
  const live = await probe('/health/live');
  expect(live).toEqual({ status: 503, body: { status: 'failed', state: 'FAILED', reason: offline.at(-1)![1] } });
  expect((await probe('/health/ready')).status).toBe(503);
  const health = await probe('/health');
  expect(health.status).toBe(200);
  expect(health.body.session).toMatchObject({ state: 'FAILED', reconnect: { attempt: 3, maxAttempts: 3, exhausted: true } });
  const metrics = (await inst.api<string>('GET', '/metrics')).body;
  expect(metrics).toMatch(/^wacloud_session_reconnects_total 1$/m);
  expect(metrics).toMatch(/^wacloud_session_reconnect_attempts_total 4$/m);
  expect(metrics).toMatch(/^wacloud_session_reconnect_exhausted_total 1$/m);

  // Back online, a new start by a person resumes the stored session (no QR) and liveness recovers.
  await simnet.hook('/hooks/online', { phone: PHONE });
  const login = await inst.api('POST', '/v1/session/login', { token: rw });
  expect(login.status).toBe(200);
  await eventually(async () => (await probe('/health/ready')).status === 200, 15_000);
  expect(login.body.qr).toBeUndefined();
  expect(events.filter((e) => e.event === 'qr')).toHaveLength(qrs);
  expect((await probe('/health/live')).status).toBe(200);
  ws.close();
});

test('unlinked from the phone is not retried: STOPPED, the stored session gone, the next login shows a QR', async () => {
  const rw = await inst.token('rw', 'unlink');
  const { ws, events } = await subscribe(rw);
  await eventually(() => statuses(events).length > 0);
  expect(statuses(events)[0]![0]).toBe('WORKING');
  await simnet.hook('/hooks/unlink', { phone: PHONE });
  await eventually(() => statuses(events).some(([s]) => s === 'STOPPED'));
  await new Promise((r) => setTimeout(r, 500)); // a retry, if there were one, would have started by now (delays ≤ 200 ms)
  expect(statuses(events).slice(1)).toEqual([['STOPPED', 'logged out']]);
  expect((await probe('/health')).body.session).toEqual({ state: 'STOPPED', reason: 'logged out' });
  expect((await probe('/health/live')).status).toBe(200);
  const login = await inst.api('POST', '/v1/session/login', { token: rw });
  expect(login.body).toMatchObject({ state: 'SCAN_QR_CODE', qr: expect.any(String) });
  ws.close();
});
