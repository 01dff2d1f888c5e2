/**
 * Issue #15 (docs/team.md §1): the platform's own subscription (target `api`) next to the tenant's webhook, against
 * real servers (the instance process, simnet, MongoDB-wire, a real HTTP receiver on loopback):
 * - set, read and removed only through the internal API (the secret never shown);
 * - every event — catalogue events and the api-only `session.qr` — is delivered to it, signed, retried with the
 *   webhook backoff, though its receiver is on loopback, which the SSRF guard still refuses for the tenant;
 * - the tenant's webhook, subscribed to `*`, never gets `session.qr`;
 * - the api's refusals are retried, never final: its events are not lost while it renews a subscription.
 */
import mongoose from 'mongoose';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import {
  expectedSignature,
  loginWithQr,
  startInstance,
  startReceiver,
  startSimnet,
  type RunningInstance,
  type RunningSimnet,
  type WebhookReceiver,
} from './harness.js';

const PHONE = '15550000801';
const FRIEND = '15550000899';
const SECRET = 'api-events-secret-0123456789';
let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let api: WebhookReceiver;
let tenant: WebhookReceiver;
let db: mongoose.Connection;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  [api, tenant] = await Promise.all([startReceiver(), startReceiver()]);
  const name = uniqueDbName('apisub');
  db = await mongoose.createConnection(mongo.dbUri(name)).asPromise();
  // The tenant's webhook subscribes to everything; with the SSRF guard closed (no WEBHOOK_ALLOW_CIDRS) its loopback
  // receiver is refused, so its deliveries end `failed` in the tenant outbox, where what was queued can be read.
  await db
    .db!.collection('settings')
    .insertOne({ _id: 'webhook' as never, url: tenant.url, secret: 'tenant-secret', events: ['*'], updatedAt: new Date() });
  inst = await startInstance({
    mongo,
    db: name,
    simnetUrl: simnet.url,
    env: { WEBHOOK_ALLOW_CIDRS: '', WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '800' },
  });
}, 120_000);

afterAll(async () => {
  await inst?.stop();
  await db?.close();
  await Promise.allSettled([simnet?.stop(), api?.close(), tenant?.close(), mongo?.stop()]);
});

test('internal API: set, read (no secret) and remove the api subscription; tenants cannot reach it', async () => {
  expect((await inst.internal('GET', '/internal/v1/api-subscription')).body).toEqual({
    url: null,
    secretSet: false,
    events: null,
    batch: null,
  });
  expect((await inst.internal('PUT', '/internal/v1/api-subscription', { url: 'ftp://x', secret: SECRET })).status).toBe(400);
  expect((await inst.internal('PUT', '/internal/v1/api-subscription', { url: api.url, secret: 'short' })).status).toBe(400);
  const put = await inst.internal('PUT', '/internal/v1/api-subscription', { url: api.url, secret: SECRET });
  expect(put).toMatchObject({ status: 200, body: { url: api.url, secretSet: true, events: null } });
  const bad = await inst.internal('PUT', '/internal/v1/api-subscription', { url: api.url, secret: SECRET, events: ['no.such.event'] });
  expect(bad.status).toBe(400);
  expect((await inst.internal('PUT', '/internal/v1/api-subscription', { url: api.url, secret: SECRET, events: [] })).status).toBe(400);
  expect(JSON.stringify((await inst.internal('GET', '/internal/v1/api-subscription')).body)).not.toContain(SECRET);
  const w = await inst.token('rw');
  expect((await inst.api('GET', '/internal/v1/api-subscription', { token: w })).status).toBe(404);
  // The tenant's own settings are untouched and still SSRF-checked.
  expect((await inst.internal('GET', '/internal/v1/webhook')).body).toMatchObject({ url: tenant.url, events: ['*'] });
  expect((await inst.internal('PUT', '/internal/v1/webhook', { url: api.url, events: ['*'] })).body.error.code).toBe('webhook_url_refused');
});

test('every event, session.qr included, reaches the api target on loopback, signed and retried; the tenant never gets session.qr', async () => {
  await inst.internal('PUT', '/internal/v1/api-subscription', { url: api.url, secret: SECRET });
  api.script.push(503); // the first delivery is retried
  const w = await inst.token('rw');
  await loginWithQr(inst, simnet, PHONE, w);
  await simnet.hook('/hooks/accounts', { phone: FRIEND, pushname: 'Friend' });
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: 'to the api' });
  const ok = () => api.received.filter((r) => r.status === 200);
  const got = (event: string) => ok().some((r) => r.body.event === event && r.body.payload.body === 'to the api');
  // The refused first event is retried after its backoff (up to one poll later): it may arrive after the messages.
  const retried = () => ok().some((r) => r.headers['x-wacloud-event-id'] === api.received[0]!.headers['x-wacloud-event-id']);
  await eventually(() => got('message') && got('message.any') && retried(), 20_000);
  const events = new Set(ok().map((r) => r.body.event));
  for (const e of ['session.qr', 'session.status', 'message', 'message.any']) expect(events).toContain(e);
  expect(api.received[0]!.status).toBe(503);
  expect(api.received[0]!.headers['x-wacloud-attempt']).toBe('1');
  expect(
    ok().find((r) => r.headers['x-wacloud-event-id'] === api.received[0]!.headers['x-wacloud-event-id'])!.headers['x-wacloud-attempt'],
  ).toBe('2');
  const qr = ok().find((r) => r.body.event === 'session.qr')!;
  expect(qr.body.payload).toEqual({ qr: expect.any(String), image: expect.stringMatching(/^data:image\/png;base64,/) });
  for (const r of api.received) {
    const ts = r.headers['x-wacloud-timestamp'] as string;
    expect(r.headers['x-wacloud-signature']).toBe(expectedSignature(SECRET, ts, r.rawBody));
    expect(r.body.instanceId).toBeTruthy();
  }
  // Delivered api records are not kept; the tenant's outbox has its events but no session.qr, and nothing reached it.
  await eventually(async () => (await db.db!.collection('api_outbox').countDocuments({ status: 'delivered' })) === 0);
  const tenantEvents = await db.db!.collection('outbox').distinct('event');
  expect(tenantEvents).toEqual(expect.arrayContaining(['session.status', 'message']));
  expect(tenantEvents).not.toContain('session.qr');
  expect(tenant.received).toHaveLength(0);

  // Removed: nothing more is queued for the api.
  expect((await inst.internal('DELETE', '/internal/v1/api-subscription')).status).toBe(204);
  const before = api.received.length;
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: 'not to the api' });
  await eventually(async () => (await db.db!.collection('outbox').countDocuments({ 'payload.body': 'not to the api' })) > 0, 10_000);
  await new Promise((r) => setTimeout(r, 1000));
  expect(api.received.length).toBe(before);
}, 90_000);

test('a subscription naming its events gets only those: one inbound message queues message.any, not message', async () => {
  const put = await inst.internal('PUT', '/internal/v1/api-subscription', {
    url: api.url,
    secret: SECRET,
    events: ['message.any', 'session.status'],
  });
  expect(put.body).toEqual({ url: api.url, secretSet: true, events: ['message.any', 'session.status'], batch: null });
  const from = api.received.length;
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: 'only any' });
  const mine = () => api.received.slice(from).filter((r) => r.status === 200 && r.body.payload?.body === 'only any');
  await eventually(() => mine().some((r) => r.body.event === 'message.any'), 20_000);
  // The tenant's outbox has both; by then the api's would have too.
  await eventually(
    async () => (await db.db!.collection('outbox').countDocuments({ 'payload.body': 'only any', event: 'message' })) === 1,
    10_000,
  );
  await new Promise((r) => setTimeout(r, 1000));
  expect(mine().map((r) => r.body.event)).toEqual(['message.any']);
  expect(await db.db!.collection('api_outbox').countDocuments({ event: 'message' })).toBe(0);
}, 60_000);

test("the api's refusals (a rotated secret, a clock off) are retried, never failed: the event arrives once the api takes it", async () => {
  const from = api.received.length;
  api.script.push(401, 403, 404);
  await simnet.hook('/hooks/send', { from: FRIEND, to: PHONE, text: 'refused at first' });
  const mine = () => api.received.slice(from).filter((r) => r.body?.payload?.body === 'refused at first');
  await eventually(() => mine().some((r) => r.status === 200), 20_000);
  // The subscription names message.any only (the test above): one event, refused three times, taken at its fourth.
  expect(mine().map((r) => [r.body.event, r.status, r.headers['x-wacloud-attempt']])).toEqual([
    ['message.any', 401, '1'],
    ['message.any', 403, '2'],
    ['message.any', 404, '3'],
    ['message.any', 200, '4'],
  ]);
  expect(new Set(mine().map((r) => r.headers['x-wacloud-event-id'])).size).toBe(1);
  expect(await db.db!.collection('api_outbox').countDocuments({ status: 'failed' })).toBe(0);
}, 60_000);
