/**
 * Background persistence against a real MongoDB-wire server: batching, idempotency, and nothing dropped
 * while the database is down — the bounded buffer spills to disk and everything lands once the server is back.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { EngineMessage } from '../src/engines/engine.js';
import { createMetrics } from '../src/metrics.js';
import { Persister, type PersisterOptions } from '../src/storage/persistence.js';
import { toMessageDoc } from '../src/storage/messages.js';
import { openStore, type OutboxDoc, type Store } from '../src/storage/store.js';

const logger = pino({ level: 'silent' });

function message(i: number, over: Partial<EngineMessage> = {}): EngineMessage {
  return {
    id: `false_1555000${i % 7}@c.us_${String(i).padStart(20, '0')}`,
    chatId: `1555000${i % 7}@c.us`,
    author: `1555000${i % 7}@c.us`,
    fromMe: false,
    isGroup: false,
    type: 'chat',
    body: `message ${i}`,
    timestamp: 1_763_800_000_000 + i,
    ack: 1,
    ...over,
  };
}

function persister(
  store: Store,
  spillFile: string,
  bufferLimit: number,
  metrics = createMetrics({ outboxDepth: async () => 0, browserMemoryBytes: async () => undefined }),
  o: Partial<PersisterOptions> = {},
) {
  return { metrics, p: new Persister({ store, logger, metrics, batchSize: 500, flushMs: 20, bufferLimit, spillFile, ...o }) };
}

/** A pending outbox record `id`. */
const event = (id: string): OutboxDoc => ({
  _id: id,
  event: 'message',
  payload: { body: id },
  createdAt: new Date(),
  status: 'pending',
  attempts: 0,
  nextAttemptAt: new Date(),
  lockedUntil: null,
});

/** A persister whose released journal entries go to `committed`. */
const journaled = (store: Store, spillFile: string, committed: number[], o: Partial<PersisterOptions> = {}) =>
  persister(store, spillFile, 1000, undefined, { onJournaledStored: (seqs) => committed.push(...seqs), ...o }).p;

describe('persister', () => {
  let mongo: MongoServer;
  let store: Store;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-persist-'));

  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('persist')));
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await mongo?.stop();
  });

  test('writes batches; replays are idempotent; acks only go up; contacts merge', async () => {
    const { p } = persister(store, path.join(dir, 'a.ndjson'), 10_000);
    for (let i = 0; i < 120; i++) p.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    await p.flush();
    expect(await store.col.messages.countDocuments({})).toBe(120);
    for (let i = 0; i < 120; i++) p.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) }); // replayed engine events
    p.enqueue({ kind: 'ack', id: message(3).id, ack: 3 });
    p.enqueue({ kind: 'ack', id: message(3).id, ack: 2 }); // late, lower ack
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(4), { tokenId: 't1', tokenName: 'bot' }) });
    p.enqueue({ kind: 'contact', doc: { _id: '15550001@c.us', number: '15550001', pushname: 'A', isGroup: false, updatedAt: new Date() } });
    p.enqueue({ kind: 'contact', doc: { _id: '15550001@c.us', name: 'Alice', isGroup: false, updatedAt: new Date() } });
    await p.flush();
    expect(await store.col.messages.countDocuments({})).toBe(120);
    expect((await store.col.messages.findOne({ _id: message(3).id }))?.ack).toBe(3);
    expect((await store.col.messages.findOne({ _id: message(4).id }))?.sentBy).toEqual({ tokenId: 't1', tokenName: 'bot' });
    expect(await store.col.contacts.findOne({ _id: '15550001@c.us' })).toMatchObject({ number: '15550001', pushname: 'A', name: 'Alice' });
    await p.close();
  });

  test('text holding NUL from the engine is stored with U+FFFD instead of failing its batch (the embedded server is PostgreSQL)', async () => {
    const { p } = persister(store, path.join(dir, 'nul.ndjson'), 10_000);
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(900, { body: 'a\u0000b' })) });
    p.enqueue({ kind: 'contact', doc: { _id: '15550900@c.us', pushname: 'N\u0000', isGroup: false, updatedAt: new Date() } });
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(901)) });
    await p.flush();
    expect((await store.col.messages.findOne({ _id: message(900).id }))?.body).toBe('a\uFFFDb');
    expect((await store.col.contacts.findOne({ _id: '15550900@c.us' }))?.pushname).toBe('N\uFFFD');
    expect(await store.col.messages.countDocuments({ _id: message(901).id })).toBe(1);
    await p.close();
  });

  test('hundreds of chats and acks in one batch are written (FerretDB v1 stalls on ≥ 100-statement updates)', async () => {
    const { p } = persister(store, path.join(dir, 'many.ndjson'), 10_000);
    const big = (n: number) => ({
      kind: 'chat' as const,
      doc: { _id: `1666${String(n).padStart(6, '0')}@c.us`, isGroup: false, unreadCount: n, updatedAt: new Date() },
    });
    for (let i = 0; i < 250; i++) p.enqueue(big(i));
    await p.flush();
    for (let i = 0; i < 250; i++) p.enqueue(big(i)); // updates of existing documents, one batch
    await p.flush();
    expect(await store.col.chats.countDocuments({ _id: { $regex: '^1666' } })).toBe(250);
    await p.close();
  }, 60_000);

  test('database down: nothing dropped — buffer bound spills to disk, all lands after the restart', async () => {
    const own = await startMongo();
    if (!own.process) {
      await own.stop();
      console.warn('MONGODB_URI names an external server: the outage part of this test needs a server it can stop');
      return;
    }
    const port = Number(new URL(own.uri).port);
    const db = uniqueDbName('outage');
    const s = await openStore(own.dbUri(db), 2_000);
    await s.init();
    const spill = path.join(dir, 'outage.ndjson');
    const { p, metrics } = persister(s, spill, 40);
    for (let i = 0; i < 30; i++) p.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    await p.flush();
    await own.stop({ keepData: true });
    for (let i = 30; i < 230; i++) p.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    p.enqueue({ kind: 'ack', id: message(229).id, ack: 3 });
    expect(p.pending()).toBe(201);
    const spilled = (await metrics.registry.getSingleMetricAsString('wacloud_persist_overflow_total')).match(/ (\d+)$/m)?.[1];
    expect(Number(spilled)).toBeGreaterThanOrEqual(160);
    expect(readFileSync(spill, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(160);
    await new Promise((r) => setTimeout(r, 1_000)); // some retries fail meanwhile
    expect(p.pending()).toBe(201);
    const again = await startMongo({ port, dataDir: own.dataDir! });
    try {
      await eventually(() => p.pending() === 0, 60_000, 200);
      await p.flush();
      expect(await s.col.messages.countDocuments({})).toBe(230);
      expect((await s.col.messages.findOne({ _id: message(229).id }))?.ack).toBe(3);
      expect(statSync(spill).size).toBe(0);
      await p.close();
    } finally {
      await s.close();
      await again.stop();
    }
  }, 120_000);

  test('a spill file left by a crashed process is replayed by the next one', async () => {
    const spill = path.join(dir, 'crash.ndjson');
    // A process whose database went away: beyond the bound of 3, operations go to the spill file.
    const gone = await startMongo();
    const deadStore = await openStore(gone.dbUri(uniqueDbName('gone')), 300);
    await gone.stop();
    const { p: first } = persister(deadStore, spill, 3);
    for (let i = 1000; i < 1010; i++) first.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    expect(first.pending()).toBe(10);
    expect(readFileSync(spill, 'utf8').trim().split('\n')).toHaveLength(7);
    // The process is killed (its 3 in-memory operations die with it); the next one starts with the same DATA_DIR.
    await deadStore.close();
    const { p: second } = persister(store, spill, 10_000);
    expect(second.pending()).toBe(7);
    await second.flush();
    const ids = Array.from({ length: 7 }, (_, k) => message(1003 + k).id);
    expect(await store.col.messages.countDocuments({ _id: { $in: ids } })).toBe(7);
    expect(statSync(spill).size).toBe(0);
    await second.close();
  });
  test("events of a batch's journaled messages are handed over unstored after their messages; their entries wait for the records", async () => {
    const committed: number[] = [];
    const seen: Array<Promise<unknown>> = [];
    const handed: string[] = [];
    const p = journaled(store, path.join(dir, 'deferred.ndjson'), committed, {
      // Takes every tenant event but `refused`, and the api's; the messages must be in the database by then.
      deferEvents: (target, docs) => {
        const taken = docs.filter((d) => d._id !== 'evt_refused');
        for (const d of taken) {
          handed.push(`${target}:${d._id}`);
          seen.push(store.col.messages.countDocuments({ _id: message(700).id }));
        }
        return taken;
      },
    });
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(701)), journalSeq: 41 });
    await p.flush(); // 41 has no event: released with its batch
    expect(committed).toEqual([41]);
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(700)), journalSeq: 42 });
    p.enqueue({ kind: 'event', doc: event('evt_a'), journalSeq: 42 });
    p.enqueue({ kind: 'event', doc: event('evt_a'), journalSeq: 42 }); // queued twice: handed over once
    p.enqueue({ kind: 'event', doc: event('evt_a'), target: 'api', journalSeq: 42 });
    p.enqueue({ kind: 'event', doc: event('evt_refused'), journalSeq: 42 });
    p.enqueue({ kind: 'event', doc: event('evt_no_entry') }); // not of an inbound message
    p.enqueue({ kind: 'event', doc: event('evt_earlier'), journalSeq: 41 }); // its message was written in an earlier batch
    await p.flush();
    expect(handed).toEqual(['tenant:evt_a', 'api:evt_a']);
    expect(await Promise.all(seen)).toEqual([1, 1]);
    const stored = await store.col.outbox.find({ _id: { $in: ['evt_a', 'evt_refused', 'evt_no_entry', 'evt_earlier'] } }).toArray();
    expect(stored.map((d) => d._id).sort()).toEqual(['evt_earlier', 'evt_no_entry', 'evt_refused']);
    expect(await store.col.apiOutbox.countDocuments({ _id: 'evt_a' })).toBe(0);
    expect(committed).toEqual([41]); // 42 waits for evt_a's records, on both outboxes
    p.eventsRecorded('tenant', ['evt_a']);
    expect(committed).toEqual([41]);
    p.eventsRecorded('api', ['evt_a']);
    expect(committed).toEqual([41, 42]);
    await p.close();
  });

  test("a held journal entry outlives its message's batch until the events queued after it are written too", async () => {
    const committed: number[] = [];
    const p = journaled(store, path.join(dir, 'held.ndjson'), committed);
    // The message's batch is written while its events are still being queued (the settings read on a cache miss).
    const release = p.holdJournal(51);
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(751)), journalSeq: 51 });
    await p.flush();
    expect(await store.col.messages.countDocuments({ _id: message(751).id })).toBe(1);
    expect(committed).toEqual([]); // held: its events are not queued yet
    p.enqueue({ kind: 'event', doc: event('evt_late'), journalSeq: 51 });
    release();
    release(); // a second call does nothing
    expect(committed).toEqual([]); // the event is queued, not written
    await p.flush();
    expect(await store.col.outbox.countDocuments({ _id: 'evt_late' })).toBe(1);
    expect(committed).toEqual([51]);

    // Let go when everything queued before is written already: released at once (its message is written).
    const again = p.holdJournal(52);
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(752)), journalSeq: 52 });
    await p.flush();
    expect(committed).toEqual([51]);
    again();
    expect(committed).toEqual([51, 52]);

    // Let go before the message's batch is written: released with the batch, as without a hold.
    const early = p.holdJournal(53);
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(753)), journalSeq: 53 });
    early();
    expect(committed).toEqual([51, 52]);
    await p.flush();
    expect(committed).toEqual([51, 52, 53]);
    await p.close();
  });
});
