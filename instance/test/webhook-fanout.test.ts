/**
 * Issue 18 item 2, webhook fan-out: a burst of inbound messages reaches the tenant's receiver with parallel POSTs
 * (`WEBHOOK_CONCURRENCY`) over kept-alive connections, every event accepted exactly once, refused first attempts
 * retried under the same id, and every outcome in the delivery log (stored in batches). Real servers throughout: the
 * instance process, simnet, MongoDB-wire, a real HTTP receiver on loopback that answers after a short delay.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

const PHONE = '15550000701';
const FRIEND = '15550000799';
const BURST = 300;
const CONCURRENCY = 8;
/** Every this many distinct events, the first attempt is answered 503. */
const REFUSE_EVERY = 25;

interface Hit {
  id: string;
  attempt: string;
  status: number;
  socket: string;
  text: string;
}

let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let server: http.Server;
let url = '';
const hits: Hit[] = [];
let active = 0;
let maxActive = 0;
const firstSeen = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    active++;
    maxActive = Math.max(maxActive, active);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-wacloud-event-id']);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payload?: { body?: string } };
      if (!firstSeen.has(id)) firstSeen.set(id, firstSeen.size);
      const refuse = req.headers['x-wacloud-attempt'] === '1' && firstSeen.get(id)! % REFUSE_EVERY === 0;
      const status = refuse ? 503 : 200;
      hits.push({
        id,
        attempt: String(req.headers['x-wacloud-attempt']),
        status,
        socket: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        text: body.payload?.body ?? '',
      });
      setTimeout(() => {
        active--;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(refuse ? 'later' : 'ok');
      }, 20);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  mongo = await startMongo();
  simnet = await startSimnet();
  inst = await startInstance({
    mongo,
    simnetUrl: simnet.url,
    env: { WEBHOOK_CONCURRENCY: String(CONCURRENCY), WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '400' },
  });
  const wToken = await inst.token('w');
  expect(
    (await inst.internal('PUT', '/internal/v1/webhook', { url, secret: 'webhook-secret-for-fanout-tests', events: ['message'] })).status,
  ).toBe(200);
  await loginWithQr(inst, simnet, PHONE, wToken);
  expect((await simnet.hook('/hooks/accounts', { phone: FRIEND, pushname: 'Friend' })).status).toBeLessThan(300);
}, 120_000);

afterAll(async () => {
  await inst?.stop();
  server?.closeAllConnections();
  await Promise.allSettled([simnet?.stop(), mongo?.stop(), new Promise((r) => server?.close(r))]);
});

test('a burst: every event accepted once, refused ones retried under their id, parallel POSTs on kept-alive connections, outcomes in the log', async () => {
  const tag = `fan${Date.now().toString(36)}`;
  expect((await simnet.hook('/hooks/burst', { from: FRIEND, to: PHONE, text: tag, count: BURST })).status).toBe(201);
  const ours = () => hits.filter((h) => h.text.startsWith(`${tag} `));
  const accepted = () => ours().filter((h) => h.status === 200);
  await eventually(() => new Set(accepted().map((h) => h.id)).size >= BURST, 120_000);
  await new Promise((r) => setTimeout(r, 1500)); // nothing more may arrive

  // Every message's event accepted exactly once; the texts are the burst's.
  const ok = accepted();
  expect(ok).toHaveLength(BURST);
  expect(new Set(ok.map((h) => h.id)).size).toBe(BURST);
  expect(new Set(ok.map((h) => h.text)).size).toBe(BURST);
  // The refused first attempts came again, under the same id, as attempt 2.
  const refused = ours().filter((h) => h.status === 503);
  expect(refused.length).toBeGreaterThanOrEqual(Math.floor(BURST / REFUSE_EVERY));
  for (const r of refused) expect(ok.find((h) => h.id === r.id)?.attempt).toBe('2');
  expect(ours()).toHaveLength(BURST + refused.length);

  // Parallel, bounded by WEBHOOK_CONCURRENCY, over a few kept-alive connections (one per delivery before).
  expect(maxActive).toBeGreaterThan(1);
  expect(maxActive).toBeLessThanOrEqual(CONCURRENCY);
  const sockets = new Set(ours().map((h) => h.socket)).size;
  expect(sockets).toBeLessThanOrEqual(CONCURRENCY * 3);

  // The delivery log: each outcome stored, with its answer, latency, address and attempts.
  await eventually(async () => {
    const items = (await inst.internal<{ items: any[] }>('GET', '/internal/v1/webhook/deliveries?limit=200&status=delivered')).body.items;
    return items.length === 200;
  }, 60_000);
  const logged = new Map<string, any>();
  await eventually(async () => {
    const items = (await inst.internal<{ items: any[] }>('GET', '/internal/v1/webhook/deliveries?limit=200')).body.items;
    for (const d of items) logged.set(d.id, d);
    return items.every((d) => d.status === 'delivered');
  }, 60_000);
  const newest = [...logged.values()];
  expect(newest.length).toBe(200);
  for (const d of newest) {
    expect(d).toMatchObject({ status: 'delivered', httpStatus: 200, error: null, address: '127.0.0.1' });
    expect(d.latencyMs).toEqual(expect.any(Number));
    expect(d.deliveredAt).toEqual(expect.any(String));
    expect(d.attempts).toBe(ok.find((h) => h.id === d.id)?.attempt === '2' ? 2 : 1);
  }
}, 240_000);
