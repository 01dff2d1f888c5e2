/**
 * The live log's tail (`src/live/log-store.ts`, docs/team.md §2) on a real MongoDB-wire server: it reads runs of
 * events per query (counted with the driver's command monitoring) and keeps the log's guarantees — every id once, in
 * order, across replicas; a missing id holds the events after it back until it appears or `gapSkipMs` passed, then
 * is skipped for good; a replica left behind by pruning skips what was pruned; a replica whose tail stood still
 * longer than the retention never appends an id that was pruned meanwhile.
 */
import mongoose from 'mongoose';
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { LiveEventInput } from '../src/live/live-log.js';
import { LiveLogStore, TAIL_BATCH, type LiveEventDoc } from '../src/live/log-store.js';

let mongo: MongoServer;
const clients: mongoose.mongo.MongoClient[] = [];
const stores: LiveLogStore[] = [];

beforeAll(async () => {
  mongo = await startMongo();
}, 60_000);

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.stop()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await mongo?.stop();
});

const ev = (n: number): LiveEventInput => ({ type: 'message.new', data: { n }, audience: { orgId: 'org_tail' } });
const doc = (id: number): LiveEventDoc => ({ _id: id, ...ev(id), at: new Date() });

/** A replica on its own client over database `db`: its store, the ids its tail handed on, and its reads so far. */
async function replica(db: string, o: { pollMs?: number; gapSkipMs?: number; batch?: number; retentionMs?: number } = {}) {
  const client = new mongoose.mongo.MongoClient(mongo.dbUri(db), { monitorCommands: true });
  clients.push(client);
  await client.connect();
  const r = {
    ids: [] as number[],
    reads: 0,
    store: undefined as unknown as LiveLogStore,
    col: client.db(db).collection<LiveEventDoc>('live_events'),
  };
  let answered = 0;
  client.on('commandStarted', (e) => {
    if (e.commandName === 'find' || e.commandName === 'getMore') r.reads++;
  });
  client.on('commandSucceeded', (e) => {
    if (e.commandName === 'find') answered++;
  });
  r.store = new LiveLogStore(r.col, { retentionMs: 3_600_000, pollMs: 50, logger: pino({ level: 'silent' }), ...o });
  stores.push(r.store);
  await r.store.start();
  r.store.listen((e) => r.ids.push(e.event.id));
  // The tail's first read (after start's read of the head) is answered: what is appended from now on is read at the
  // next wake (an append of its own or the poll), not by a first read the server happened to answer late.
  await eventually(() => answered >= 2, 10_000);
  return r;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a backlog of N events is read in runs: at most 2·ceil(N / TAIL_BATCH) + 3 queries, every id once, in order', async () => {
  const db = uniqueDbName('tailruns');
  const writer = await replica(db);
  // Polls only every 10 min: the backlog builds up until its own append wakes it.
  const reader = await replica(db, { pollMs: 600_000 });
  const n = 1000;
  for (let i = 0; i < n; i += 100) await writer.store.appendMany(range(i, i + 99).map(ev));
  expect(reader.ids).toEqual([]);
  const reads0 = reader.reads;
  const own = await reader.store.append(ev(n));
  expect(own).toBe(n + 1);
  await eventually(() => reader.ids.length === n + 1, 30_000);
  const reads = reader.reads - reads0;
  // The old tail read one event per query (n + 1 reads).
  expect(reads).toBeLessThanOrEqual(2 * Math.ceil((n + 1) / TAIL_BATCH) + 3);
  expect(reader.ids).toEqual(range(1, n + 1));
  await eventually(() => writer.ids.length === n + 1, 30_000);
  expect(writer.ids).toEqual(range(1, n + 1));
  // Idle: one query per poll.
  const [idle0, t0] = [writer.reads, performance.now()];
  await sleep(1_000);
  expect(writer.reads - idle0).toBeLessThanOrEqual((performance.now() - t0) / 50 + 1);
}, 90_000);

test('a missing id holds the later events back until it is written; one missing for gapSkipMs is skipped for good', async () => {
  const db = uniqueDbName('tailgap');
  const gapSkipMs = 5_000;
  const a = await replica(db, { gapSkipMs, batch: 5 });
  const b = await replica(db, { gapSkipMs, batch: 5 });
  const col = a.col;
  // Ids 3 and 6 reserved but not written yet (written behind the tails' backs, as a slow or lost writer would).
  await col.insertMany([1, 2, 4, 5, 7, 8].map(doc));
  await eventually(() => a.ids.length === 2 && b.ids.length === 2, 10_000);
  await sleep(1_000); // well within gapSkipMs: 4… are held back
  expect(a.ids).toEqual([1, 2]);
  await col.insertOne(doc(3));
  await eventually(() => a.ids.length >= 5 && b.ids.length >= 5, 10_000);
  for (const r of [a, b]) expect(r.ids.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
  // 6 never comes: 7 and 8 follow once gapSkipMs passed; a 6 written afterwards is never handed on.
  await eventually(() => a.ids.length === 7 && b.ids.length === 7, 3 * gapSkipMs);
  // `since` replays what is stored after a resume point (the hole left out); a point whose next id is missing expired.
  expect((await a.store.since(4))?.map((e) => e.event.id)).toEqual([5, 7, 8]);
  expect(await a.store.since(5)).toBeUndefined();
  await col.insertOne(doc(6));
  await b.store.append(ev(9)); // 9: after the newest, not in the hole
  await eventually(() => a.ids.length === 8 && b.ids.length === 8, 10_000);
  for (const r of [a, b]) expect(r.ids).toEqual([1, 2, 3, 4, 5, 7, 8, 9]);
  // `since` replays what is stored after a resume point, up to the head (the late 6 included: it is in the log).
  expect((await a.store.since(4))?.map((e) => e.event.id)).toEqual([5, 6, 7, 8, 9]);
}, 60_000);

test('more missing ids than a read takes, and ids pruned while held back at a missing one: the tail skips to what is there', async () => {
  const db = uniqueDbName('tailprune');
  const a = await replica(db, { gapSkipMs: 5_000, batch: 5 });
  await a.store.appendMany(range(1, 3).map(ev));
  await eventually(() => a.ids.length === 3, 10_000);
  // 4…19 never written (more than a read of 5 takes), 20…22 are.
  await a.col.insertMany([20, 21, 22].map(doc));
  await eventually(() => a.ids.length === 6, 20_000);
  expect(a.ids).toEqual([1, 2, 3, 20, 21, 22]);
  // 23 missing, 24…41 written, then pruned (all but the newest) while the tail waits for 23.
  await a.col.insertMany(range(24, 41).map(doc));
  await a.col.deleteMany({ _id: { $lt: 41 } });
  await eventually(() => a.ids.length === 7, 20_000);
  expect(await a.store.append(ev(42))).toBe(42);
  await eventually(() => a.ids.length === 8, 10_000);
  expect(a.ids).toEqual([1, 2, 3, 20, 21, 22, 41, 42]);
  expect(await a.store.since(22)).toBeUndefined();
  expect((await a.store.since(40))?.map((e) => e.event.id)).toEqual([41, 42]);
  expect(await a.store.since(2)).toBeUndefined(); // 3 pruned
}, 60_000);

test('a replica whose tail stood still past half the retention reads the newest id before appending: no pruned id is taken again', async () => {
  const db = uniqueDbName('tailreuse');
  const a = await replica(db, { retentionMs: 400 });
  const b = await replica(db, { retentionMs: 400 });
  // A's process stands still (its tail reads nothing), while B appends and, past the retention, prunes.
  await a.store.stop();
  await b.store.appendMany(range(1, 5).map(ev));
  await eventually(() => b.ids.length === 5, 10_000);
  await sleep(450);
  expect(await b.store.prune()).toBe(4); // 1…4; the newest, 5, is kept
  // A knew no id above 0: without reading the newest first it would take 1 again, behind B's tail.
  expect(await a.store.append(ev(6))).toBe(6);
  expect(await a.store.appendMany([ev(7), ev(8)])).toEqual([7, 8]);
  await eventually(() => b.ids.length === 8, 10_000);
  expect(b.ids).toEqual(range(1, 8));
}, 30_000);
