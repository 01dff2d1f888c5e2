/**
 * Issue #18 item 2: `LiveLogStore.appendMany` (the inbox's bulk path appends a batch's live events in one write) keeps
 * the live log's ids gap-free and unique when two replicas append at once — on a real MongoDB-wire server, two stores
 * on one collection, each appending batches and single events concurrently; every event is stored once, in its
 * batch's order, and both tails hand every id over.
 */
import mongoose from 'mongoose';
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { LiveEventInput } from '../src/live/live-log.js';
import { LiveLogStore, type LiveEventDoc, type TailedEvent } from '../src/live/log-store.js';

let mongo: MongoServer;
let conn: mongoose.Connection;

beforeAll(async () => {
  mongo = await startMongo();
  conn = await mongoose.createConnection(mongo.dbUri(uniqueDbName('appendmany'))).asPromise();
}, 60_000);

afterAll(async () => {
  await conn?.close();
  await mongo?.stop();
});

const ev = (replica: string, n: number): LiveEventInput => ({
  type: 'message.new',
  data: { replica, n },
  audience: { orgId: 'org_appendmany' },
});

test('two replicas appending batches and single events at once: ids unique and gap-free, each batch in order', async () => {
  const col = conn.db!.collection<LiveEventDoc>('live_events');
  const o = { retentionMs: 3_600_000, pollMs: 50, logger: pino({ level: 'silent' }) };
  const [a, b] = [new LiveLogStore(col, o), new LiveLogStore(col, o)];
  await Promise.all([a.start(), b.start()]);
  const tailed: TailedEvent[][] = [[], []];
  a.listen((e) => tailed[0]!.push(e));
  b.listen((e) => tailed[1]!.push(e));
  try {
    const work = (s: LiveLogStore, r: string) =>
      (async () => {
        const ids: number[][] = [];
        for (let i = 0; i < 6; i++) {
          ids.push(await s.appendMany(Array.from({ length: 10 }, (_, k) => ev(r, i * 10 + k))));
          await s.append(ev(r, 1000 + i));
        }
        return ids;
      })();
    const [idsA, idsB] = await Promise.all([work(a, 'a'), work(b, 'b')]);
    const docs = await col.find({}).sort({ _id: 1 }).toArray();
    expect(docs).toHaveLength(2 * (60 + 6));
    expect(docs.map((d) => d._id)).toEqual(Array.from({ length: docs.length }, (_, i) => i + 1));
    for (const [r, ids] of [
      ['a', idsA],
      ['b', idsB],
    ] as const) {
      const mine = docs.filter((d) => (d.data as { replica: string }).replica === r && (d.data as { n: number }).n < 1000);
      // Each event once, and the events of a batch in the batch's order (the ids returned are theirs).
      expect(mine.map((d) => (d.data as { n: number }).n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect(ids.flat()).toEqual(mine.map((d) => d._id));
    }
    await eventually(() => tailed.every((t) => t.length === docs.length), 10_000);
    for (const t of tailed) expect(t.map((e) => e.event.id)).toEqual(docs.map((d) => d._id));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}, 60_000);
