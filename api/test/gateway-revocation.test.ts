/**
 * Revocation reaches open gateway relays (real api, instance and simnet processes): logging out closes the event
 * relays opened with that access token (the gateway re-checks open relays' sessions every 5 s); a relay opened with an
 * instance token closes when the instance closes the upstream (the token was deleted).
 */
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let owner: string;
let id: string;
const email = 'relay-owner@example.com';

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BILLING_CRON: 'false' } });
  owner = await tenant(api, email, 10_000);
  const created = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'relay' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  await eventually(async () => (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body.phase === 'Running', 30_000);
}, 90_000);

afterAll(async () => {
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

interface Relay {
  ws: WebSocket;
  events: Array<{ event: string }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens the gateway's event relay with `token` (a JWT or an instance token). */
function relay(token: string): Promise<Relay> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/v1/instances/${id}/api/v1/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const events: Array<{ event: string }> = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    ws.once('open', () => resolve({ ws, events, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms))]);

async function login(): Promise<string> {
  const res = await api.call('POST', '/v1/auth/login', { body: { email, password: 'correct horse battery' } });
  expect(res.status).toBe(200);
  return res.body.accessToken as string;
}

test('logging out closes the relays opened with that access token (within the 5 s re-check); other sessions keep theirs', async () => {
  const leaving = await login();
  const staying = await login();
  const a = await relay(leaving);
  const b = await relay(staying);
  await eventually(() => a.events.some((e) => e.event === 'session.status'));
  expect((await api.call('POST', '/v1/auth/logout', { token: leaving })).status).toBe(204);
  const c = await within(a.closed, 8_000);
  expect(c).not.toBeNull();
  expect(c!.code).toBe(4401);
  expect(c!.reason).toMatch(/logged out|expired/i);
  expect(b.ws.readyState).toBe(WebSocket.OPEN);
  await expect(relay(leaving)).rejects.toThrow('HTTP 401');
  b.ws.close();
}, 30_000);

test('a relay opened with an instance token closes when the token is deleted (the instance closes the upstream)', async () => {
  const created = await api.call('POST', `/v1/instances/${id}/tokens`, { token: owner, body: { name: 'stream', permissions: 'r' } });
  expect(created.status).toBe(201);
  const r = await relay(created.body.token as string);
  await eventually(() => r.events.some((e) => e.event === 'session.status'));
  expect((await api.call('DELETE', `/v1/instances/${id}/tokens/${created.body.id}`, { token: owner })).status).toBe(204);
  const c = await within(r.closed, 2_000);
  expect(c).not.toBeNull();
  expect(c!.code).toBe(4401); // the instance's close code, passed through
});
