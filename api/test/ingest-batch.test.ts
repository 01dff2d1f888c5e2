/**
 * Issue #18 item 2 (docs/team.md §1): the ingest of batches, against real servers (MongoDB-wire, simnet, the api with a
 * real instance process):
 * - a signed batch is handled in order and answered with how many were taken; a redelivered one changes nothing;
 * - a handler failing mid-batch: those before are taken, it and those after are not (delivered again, taken once);
 * - the single-event body is still taken (an older instance image);
 * - the signature covers the whole batch: a wrong one, or a body changed after signing, is refused with 401;
 * - end to end: the api subscribes its instance with `batch`, and a burst of inbound messages reaches the bus in order,
 *   each event once, also when a handler fails once in the middle.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { loadConfig } from '../src/config.js';
import type { InstanceEvent } from '../src/events/instance-events.js';
import { INGEST_BATCH, instanceEventsSecret, signEvent } from '../src/events/ingest.js';
import { call as instanceCall } from '../src/instance-client.js';
import { startApi, type Api } from '../src/service.js';
import { JWT_SECRET } from './harness.js';

const PASSWORD = 'correct horse battery';
const PARKED = 'i-batchparked01'; // an instance record only (nothing runs it): for the deliveries made by hand
let mongo: MongoServer;
let simnet: RunningSimnet;
let api: Api;
let owner: string;
let orgId: string;
/** Events the bus handed over, in order (a handler that threw for one does not record it). */
const handled: InstanceEvent[] = [];
/** Event ids whose handling throws once. */
const failOnce = new Set<string>();
/** The next event this accepts makes the handler throw (once). */
let failWhen: ((e: InstanceEvent) => boolean) | undefined;

async function call<T = any>(method: string, p: string, o: { token?: string; body?: unknown } = {}) {
  const res = await fetch(api.url + p, {
    method,
    headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body ? { 'content-type': 'application/json' } : {}) },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  const config = loadConfig({
    MONGODB_URI: mongo.dbUri(uniqueDbName('ingestbatch')),
    JWT_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    PROVIDER: 'process',
    ENGINE: 'simulated',
    SIMNET_URL: simnet.url,
    PROCESS_DATA_ROOT: mkdtempSync(path.join(os.tmpdir(), 'wacloud-ingest-batch-')),
    BILLING_CRON: 'false',
  });
  api = await startApi(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  api.events.subscribe(async (e) => {
    if (failOnce.delete(e.id)) throw new Error('a handler failing once');
    if (failWhen?.(e)) {
      failWhen = undefined;
      throw new Error('a handler failing once, mid-burst');
    }
    handled.push(e);
  });
  expect((await call('POST', '/v1/auth/register', { body: { email: 'owner@example.com', password: PASSWORD } })).status).toBe(201);
  owner = (await call('POST', '/v1/auth/login', { body: { email: 'owner@example.com', password: PASSWORD } })).body.accessToken;
  expect((await call('POST', '/v1/wallet/deposits', { token: owner, body: { amount: 10_000 } })).status).toBe(201);
  orgId = (await call('GET', '/v1/me', { token: owner })).body.organisationId;
  await api.store.instances.insertOne({
    _id: PARKED,
    userId: orgId,
    name: 'parked',
    engine: 'simulated',
    provider: 'process',
    createdAt: new Date(),
    paidUntil: new Date(Date.now() + 86_400_000),
    billingAnchorDay: 1,
    suspended: false,
    suspendedAt: null,
    deletedAt: null,
    stopped: true,
  } as never);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** POSTs `body` to the ingest signed as instance `instanceId` would (or with `signature`; `tamper` changes the body after signing). */
async function deliver(body: object, o: { instanceId?: string; signature?: string; tamper?: (raw: string) => string } = {}) {
  const raw = JSON.stringify(body);
  const ts = Math.floor(Date.now() / 1000);
  const sig = o.signature ?? signEvent(instanceEventsSecret(JWT_SECRET, o.instanceId ?? PARKED), ts, raw);
  const res = await fetch(`${api.url}/internal/v1/instance-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-wacloud-timestamp': String(ts), 'x-wacloud-signature': sig },
    body: o.tamper ? o.tamper(raw) : raw,
  });
  return { status: res.status, body: (await res.json()) as any };
}

let next = 0x1000;
/** `n` fresh events of type `event` (ids in increasing order). */
function events(n: number, event = 'presence') {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt_${(next++).toString(16).padStart(32, '0')}`,
    event,
    createdAt: new Date().toISOString(),
    payload: { n: i },
  }));
}
const ids = (list: Array<{ id: string }>) => list.map((e) => e.id);
const handledOf = (list: Array<{ id: string }>) => handled.filter((h) => list.some((e) => e.id === h.id));

test('a batch is handled in order and answered with what was taken; delivered again, it changes nothing', async () => {
  const batch = events(5);
  const r = await deliver({ instanceId: PARKED, events: batch });
  expect(r).toEqual({ status: 200, body: { accepted: 5, results: batch.map((e) => ({ id: e.id, duplicate: false })) } });
  expect(ids(handledOf(batch))).toEqual(ids(batch));
  expect(handledOf(batch)[0]).toEqual({
    id: batch[0]!.id,
    instanceId: PARKED,
    orgId,
    type: 'presence',
    data: { n: 0 },
    timestamp: Date.parse(batch[0]!.createdAt),
  });
  // Delivered again with two new ones after: the old are duplicates, the new taken, each handled once.
  const more = [...batch, ...events(2)];
  const again = await deliver({ instanceId: PARKED, events: more });
  expect(again.body).toEqual({ accepted: 7, results: more.map((e, i) => ({ id: e.id, duplicate: i < 5 })) });
  expect(ids(handledOf(more))).toEqual(ids(more));
  expect(await api.store.connection.db!.collection('instance_events_seen').countDocuments({ _id: { $in: ids(more) } as never })).toBe(7);
});

test('a handler failing mid-batch: those before are taken, it and those after are delivered again and taken once', async () => {
  const batch = events(6);
  failOnce.add(batch[2]!.id);
  const r = await deliver({ instanceId: PARKED, events: batch });
  expect(r).toEqual({
    status: 200,
    body: {
      accepted: 2,
      results: batch.slice(0, 2).map((e) => ({ id: e.id, duplicate: false })),
      error: { id: batch[2]!.id, code: 'ingest_unavailable' },
    },
  });
  expect(ids(handledOf(batch))).toEqual(ids(batch.slice(0, 2)));
  // The instance delivers the rest again (here with the whole batch, as after a lost answer).
  const again = await deliver({ instanceId: PARKED, events: batch });
  expect(again.body).toEqual({ accepted: 6, results: batch.map((e, i) => ({ id: e.id, duplicate: i < 2 })) });
  expect(ids(handledOf(batch))).toEqual(ids(batch));
});

test('the single-event body is still taken (an older instance image), a failure answered 503', async () => {
  const [one, two] = events(2);
  expect(await deliver({ ...one!, instanceId: PARKED })).toEqual({ status: 200, body: { duplicate: false } });
  expect(await deliver({ ...one!, instanceId: PARKED })).toEqual({ status: 200, body: { duplicate: true } });
  failOnce.add(two!.id);
  expect(await deliver({ ...two!, instanceId: PARKED })).toMatchObject({ status: 503, body: { error: { code: 'ingest_unavailable' } } });
  expect(await deliver({ ...two!, instanceId: PARKED })).toEqual({ status: 200, body: { duplicate: false } });
  expect(ids(handledOf([one!, two!]))).toEqual(ids([one!, two!]));
});

test('the signature covers the whole batch: wrong, another instance’s, or a body changed after signing → 401', async () => {
  const batch = events(3);
  const body = { instanceId: PARKED, events: batch };
  expect(await deliver(body, { signature: 'v1=' + '0'.repeat(64) })).toMatchObject({
    status: 401,
    body: { error: { code: 'invalid_signature' } },
  });
  expect((await deliver(body, { instanceId: 'i-aaaaaaaaaaaa' })).status).toBe(401);
  expect((await deliver(body, { tamper: (raw) => raw.replace('"n":2', '"n":3') })).status).toBe(401);
  expect(handledOf(batch)).toHaveLength(0);
  expect((await deliver({ instanceId: PARKED, events: [] })).status).toBe(400);
  expect((await deliver({ instanceId: 'i-bbbbbbbbbbbb', events: batch }, { instanceId: 'i-bbbbbbbbbbbb' })).body.error.code).toBe(
    'instance_not_found',
  );
});

test('end to end: the instance is subscribed with batches; a burst reaches the bus in order, each event once, a failure retried', async () => {
  const created = await call('POST', '/v1/instances', { token: owner, body: { name: 'batched' } });
  expect(created.status).toBe(201);
  const ins = created.body.id as string;
  await eventually(async () => (await call('GET', `/v1/instances/${ins}`, { token: owner })).body.phase === 'Running', 60_000);
  const login = await call('POST', `/v1/instances/${ins}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone: '15550017001' })).status).toBe(200);
  await simnet.hook('/hooks/accounts', { phone: '15550017002', pushname: 'Customer' });
  await eventually(() => handled.some((e) => e.instanceId === ins && e.type === 'session.status'), 30_000);
  const view = await instanceCall<any>(undefined, await api.provider.endpoints(ins), 'GET', '/internal/v1/api-subscription');
  expect(view.body).toMatchObject({ secretSet: true, batch: INGEST_BATCH });

  const burst = async (tag: string, count: number) => {
    expect((await simnet.hook('/hooks/burst', { from: '15550017002', to: '15550017001', text: tag, count })).status).toBe(201);
    const mine = () =>
      handled.filter((e) => e.instanceId === ins && e.type === 'message.any' && (e.data as { body?: string }).body?.startsWith(`${tag} `));
    await eventually(() => mine().length >= count, 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // anything handled twice would show by now
    return mine();
  };
  const ordered = await burst('inorder', 150);
  expect(ordered.map((e) => (e.data as { body: string }).body)).toEqual(Array.from({ length: 150 }, (_, i) => `inorder ${i}`));
  expect(new Set(ordered.map((e) => e.id)).size).toBe(150);

  // The handler fails once on the 40th message's event (its id is not known before the instance records it).
  failWhen = (e) => (e.data as { body?: string } | null)?.body === 'failing 39';
  const failing = await burst('failing', 120);
  expect(failWhen).toBeUndefined(); // it did fail
  expect(new Set(failing.map((e) => e.id)).size).toBe(120);
  expect(failing).toHaveLength(120);
  expect([...failing.map((e) => (e.data as { body: string }).body)].sort()).toEqual(
    Array.from({ length: 120 }, (_, i) => `failing ${i}`).sort(),
  );
  await call('DELETE', `/v1/instances/${ins}`, { token: owner });
}, 180_000);
