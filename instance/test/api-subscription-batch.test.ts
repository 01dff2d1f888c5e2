/**
 * Issue #18 item 2 (docs/team.md §1): batched delivery of the platform's subscription (target `api`), against real
 * servers (the instance process, simnet, MongoDB-wire) and a real HTTP receiver on loopback that answers as the api's
 * ingest does (`{accepted, results, error?}` to a batch, `{duplicate}` to one event):
 * - with `batch` set, a burst arrives in batches of at most that many events, in order, each batch signed as one body;
 * - a batch taken only in part: the events from the first not taken on are delivered again, those taken never;
 * - a batch refused with 400 (an api without batches): the same events go one per POST, each taken once;
 * - without `batch` (an older api), one event per POST, the single body.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mongoose from 'mongoose';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { expectedSignature, loginWithQr, startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

const PHONE = '15550000811';
const FRIEND = '15550000812';
const SECRET = 'api-events-batch-secret-0123456789';
const BATCH = 25;

interface Post {
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** The events of the body (one for a single-event body). */
  events: Array<{ id: string; event: string; payload: { body?: string } }>;
  batch: boolean;
  status: number;
  accepted: number;
}

/** The receiver's behaviour for the next POSTs. */
const mode = { partialOnce: false, refuseBatches: false };
const posts: Post[] = [];
/** Event ids in the order the receiver took them (a duplicate would show twice). */
const taken: string[] = [];
let server: http.Server;
let url: string;
let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let db: mongoose.Connection;

/** Answers like the api's ingest: a batch with how many were taken (all, or 3 when `partialOnce`), or 400 when refusing them. */
function receive(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const body = JSON.parse(raw) as any;
  const batch = Array.isArray(body.events);
  const events = batch ? body.events : [body];
  let status = 200;
  let accepted = events.length;
  if (batch && mode.refuseBatches) [status, accepted] = [400, 0];
  else if (batch && mode.partialOnce && events.length >= 5) {
    mode.partialOnce = false;
    accepted = 3;
  }
  posts.push({ headers: req.headers, raw, events, batch, status, accepted });
  const answer = events.slice(0, accepted).map((e: { id: string }) => ({ id: e.id, duplicate: taken.includes(e.id) }));
  for (const a of answer) if (!a.duplicate) taken.push(a.id);
  res.writeHead(status, { 'content-type': 'application/json' });
  if (status !== 200) res.end(JSON.stringify({ error: { code: 'invalid_request' } }));
  else if (!batch) res.end(JSON.stringify({ duplicate: answer[0]!.duplicate }));
  else
    res.end(
      JSON.stringify({
        accepted,
        results: answer,
        ...(accepted < events.length ? { error: { id: events[accepted].id, code: 'ingest_unavailable' } } : {}),
      }),
    );
}

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => receive(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/v1/instance-events`;
  inst = await startInstance({
    mongo,
    db: uniqueDbName('apibatch'),
    simnetUrl: simnet.url,
    env: { WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_MS: '800' },
  });
  db = await mongoose.createConnection(inst.mongoUri).asPromise();
  await loginWithQr(inst, simnet, PHONE, await inst.token('rw'));
  await simnet.hook('/hooks/accounts', { phone: FRIEND, pushname: 'Friend' });
}, 120_000);

afterAll(async () => {
  await inst?.stop();
  await db?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/** Subscribes the receiver to message.any, with `batch` when given. */
async function subscribe(batch?: number): Promise<void> {
  const put = await inst.internal('PUT', '/internal/v1/api-subscription', {
    url,
    secret: SECRET,
    events: ['message.any'],
    ...(batch ? { batch } : {}),
  });
  expect(put).toMatchObject({ status: 200, body: { url, secretSet: true, events: ['message.any'], batch: batch ?? null } });
}

/** Sends `count` messages `<tag> <i>` in one burst; resolves with the ids of their events once all were taken, in taken order. */
async function burst(tag: string, count: number): Promise<{ ids: string[]; bodies: string[] }> {
  expect((await simnet.hook('/hooks/burst', { from: FRIEND, to: PHONE, text: tag, count })).status).toBe(201);
  const ours = () => {
    const byId = new Map(posts.flatMap((p) => p.events).map((e) => [e.id, e]));
    return taken.map((id) => byId.get(id)!).filter((e) => e.payload.body?.startsWith(`${tag} `));
  };
  await eventually(() => ours().length >= count, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // anything delivered twice would show by now
  const events = ours();
  return { ids: events.map((e) => e.id), bodies: events.map((e) => e.payload.body!) };
}

const postsOf = (tag: string) => posts.filter((p) => p.events.some((e) => e.payload.body?.startsWith(`${tag} `)));

test('a burst reaches the api in batches of at most `batch` events, in order, each signed as one body', async () => {
  await subscribe(BATCH);
  const { ids, bodies } = await burst('ordered', 60);
  expect(bodies).toEqual(Array.from({ length: 60 }, (_, i) => `ordered ${i}`));
  expect(new Set(ids).size).toBe(60);
  const mine = postsOf('ordered');
  expect(mine.every((p) => p.batch)).toBe(true);
  expect(mine.length).toBeLessThan(60);
  expect(Math.max(...mine.map((p) => p.events.length))).toBeGreaterThan(1);
  expect(Math.max(...mine.map((p) => p.events.length))).toBeLessThanOrEqual(BATCH);
  for (const p of mine) {
    expect(p.headers['x-wacloud-signature']).toBe(expectedSignature(SECRET, p.headers['x-wacloud-timestamp'] as string, p.raw));
    expect(p.headers['x-wacloud-batch']).toBe(String(p.events.length));
    expect(JSON.parse(p.raw)).toMatchObject({ instanceId: expect.any(String) });
  }
  // Delivered records are removed from the api outbox.
  await eventually(async () => (await db.db!.collection('api_outbox').countDocuments({})) === 0, 10_000);
}, 60_000);

test('a batch taken in part: the rest is delivered again, nothing taken twice, nothing lost', async () => {
  await subscribe(BATCH);
  mode.partialOnce = true;
  const { ids, bodies } = await burst('partial', 40);
  expect(mode.partialOnce).toBe(false); // a batch was taken in part
  expect(new Set(ids).size).toBe(40);
  expect([...bodies].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `partial ${i}`).sort());
  const cut = postsOf('partial').find((p) => p.accepted < p.events.length)!;
  const again = cut.events.slice(3).map((e) => e.id);
  const later = posts.slice(posts.indexOf(cut) + 1).flatMap((p) => p.events.map((e) => e.id));
  for (const id of again) expect(later).toContain(id); // those not taken: delivered again
  for (const e of cut.events.slice(0, 3)) expect(later).not.toContain(e.id); // those taken: never again
  expect(new Set(taken).size).toBe(taken.length);
}, 60_000);

test('a batch refused with 400 (an api without batches): the events go one per POST, each taken once', async () => {
  await subscribe(BATCH);
  mode.refuseBatches = true;
  try {
    const { ids } = await burst('refused', 10);
    expect(new Set(ids).size).toBe(10);
    const mine = postsOf('refused');
    expect(mine.some((p) => p.batch && p.status === 400)).toBe(true);
    expect(mine.filter((p) => !p.batch && p.status === 200)).toHaveLength(10);
  } finally {
    mode.refuseBatches = false;
  }
}, 60_000);

test('without `batch` (an older api) one event per POST, the single body', async () => {
  await subscribe();
  const { ids } = await burst('single', 8);
  const mine = postsOf('single');
  expect(mine.every((p) => !p.batch && p.events.length === 1)).toBe(true);
  expect(mine.map((p) => p.events[0]!.id).sort()).toEqual([...ids].sort());
  for (const p of mine) expect(p.headers['x-wacloud-event-id']).toBe(p.events[0]!.id);
}, 60_000);
