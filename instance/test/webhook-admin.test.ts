/**
 * Issue 14, feature 1: what a tenant manages about webhooks, on the instance's internal API (the api exposes it per
 * instance): the signing secret shown once and rotatable, a test event, the delivery log and the replay of a failure.
 */
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import {
  expectedSignature,
  startInstance,
  startReceiver,
  startSimnet,
  type RunningInstance,
  type RunningSimnet,
  type WebhookReceiver,
} from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let receiver: WebhookReceiver;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  receiver = await startReceiver();
  inst = await startInstance({
    mongo,
    simnetUrl: simnet.url,
    env: { WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_RETRY_MAX_MS: '200' },
  });
}, 60_000);

afterAll(async () => {
  await inst?.stop();
  await Promise.allSettled([simnet?.stop(), receiver?.close(), mongo?.stop()]);
});

const deliveries = async (q = '') => (await inst.internal<{ items: any[] }>('GET', `/internal/v1/webhook/deliveries${q}`)).body.items;
const settled = (id: string, status: string) =>
  eventually(async () => (await deliveries()).find((d) => d.id === id && d.status === status), 20_000);
const hitsOf = (id: string) => receiver.received.filter((r) => r.headers['x-wacloud-event-id'] === id);

let secret = '';

test('a test event needs a URL first', async () => {
  const r = await inst.internal('POST', '/internal/v1/webhook/test');
  expect(r.status).toBe(409);
  expect(r.body.error.code).toBe('webhook_not_configured');
});

test('the first URL gets a generated secret, shown once; reading the settings never shows it', async () => {
  const r = await inst.internal('PUT', '/internal/v1/webhook', { url: receiver.url, events: ['message', 'session.status'] });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ url: receiver.url, secretSet: true, events: ['message', 'session.status'] });
  expect(r.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  secret = r.body.secret;
  const again = await inst.internal('PUT', '/internal/v1/webhook', { url: receiver.url, events: ['message'] });
  expect(again.body.secret).toBeUndefined();
  expect(again.body.secretSet).toBe(true);
  const get = await inst.internal('GET', '/internal/v1/webhook');
  expect(get.body).toEqual({ url: receiver.url, secretSet: true, events: ['message'] });
});

test('a test event is delivered signed with that secret and shows in the log with status, latency and attempts', async () => {
  const t = await inst.internal('POST', '/internal/v1/webhook/test');
  expect(t.status).toBe(202);
  expect(t.body).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0 });
  const d = await settled(t.body.id, 'delivered');
  expect(d).toMatchObject({ httpStatus: 200, attempts: 1, error: null, address: '127.0.0.1', replays: 0 });
  expect(typeof d.latencyMs).toBe('number');
  expect(d.deliveredAt).toEqual(expect.any(String));
  const [hit] = hitsOf(t.body.id);
  expect(hit!.body.event).toBe('webhook.test');
  expect(hit!.headers['x-wacloud-signature']).toBe(expectedSignature(secret, String(hit!.headers['x-wacloud-timestamp']), hit!.rawBody));
});

test('rotating the secret signs the next delivery with the new one only', async () => {
  const r = await inst.internal('POST', '/internal/v1/webhook/secret');
  expect(r.status).toBe(200);
  expect(r.body.secret).toMatch(/^whsec_/);
  expect(r.body.secret).not.toBe(secret);
  const t = await inst.internal('POST', '/internal/v1/webhook/test');
  await settled(t.body.id, 'delivered');
  const [hit] = hitsOf(t.body.id);
  const ts = String(hit!.headers['x-wacloud-timestamp']);
  expect(hit!.headers['x-wacloud-signature']).toBe(expectedSignature(r.body.secret, ts, hit!.rawBody));
  expect(hit!.headers['x-wacloud-signature']).not.toBe(expectedSignature(secret, ts, hit!.rawBody));
});

test('a failed delivery is replayed under the same event id and then succeeds; only failed ones can be', async () => {
  receiver.script.push(500, 500);
  const t = await inst.internal('POST', '/internal/v1/webhook/test');
  const failed = await settled(t.body.id, 'failed');
  expect(failed).toMatchObject({ httpStatus: 500, attempts: 2 });
  expect((await deliveries('?status=failed')).map((d) => d.id)).toContain(t.body.id);
  const replay = await inst.internal('POST', `/internal/v1/webhook/deliveries/${t.body.id}/replay`);
  expect(replay.status).toBe(200);
  expect(replay.body).toMatchObject({ id: t.body.id, status: 'pending', attempts: 0, replays: 1 });
  const ok = await settled(t.body.id, 'delivered');
  expect(ok).toMatchObject({ httpStatus: 200, attempts: 1, replays: 1 });
  expect(hitsOf(t.body.id).map((h) => h.status)).toEqual([500, 500, 200]);
  const again = await inst.internal('POST', `/internal/v1/webhook/deliveries/${t.body.id}/replay`);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('delivery_not_failed');
  const unknown = await inst.internal('POST', `/internal/v1/webhook/deliveries/evt_${'0'.repeat(32)}/replay`);
  expect(unknown.status).toBe(404);
  expect(unknown.body.error.code).toBe('delivery_not_found');
});

test('the log is newest first and bounded by limit', async () => {
  const all = await deliveries();
  expect(all.length).toBeGreaterThanOrEqual(3);
  const times = all.map((d) => d.createdAt);
  expect([...times].sort().reverse()).toEqual(times);
  expect(await deliveries('?limit=1')).toHaveLength(1);
  expect((await inst.internal('GET', '/internal/v1/webhook/deliveries?limit=0')).status).toBe(400);
});
