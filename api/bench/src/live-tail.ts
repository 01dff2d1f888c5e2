/**
 * `npm run bench -w api -- live-tail [--events 1000] [--retained 10000] [--json]`: the live log's tail
 * (`src/live/log-store.ts`) under an inbox burst, on a MongoDB-wire server started by testenv's `startMongo()`.
 *
 * The collection first holds `retained` older events (the log keeps 15 min of them; raw `insertMany`). Two replicas,
 * each a `LiveLogStore` on its own client with command monitoring: the writer appends `events` events in ordered
 * batches of 100 (`appendMany`, the inbox's bulk path) one batch after the other, as fast as the server takes them.
 * - **live**: the writer's own tail (woken by its appends) and a reader replica polling every 250 ms (`LIVE_POLL_MS`'s
 *   default) hand every event on; figures from the first append to each tail's last event: events/s through the tail,
 *   and the tail's reads (`find` + `getMore` commands) per event.
 * - **catch-up**: a third replica, started before the burst but polling only every 10 min, is woken by appending one
 *   event of its own after the burst and reads the whole backlog: events/s and reads per event.
 * Each tail must hand every id on once, in order (else the run exits 1).
 */
import { benchOut, finishReport, parseBenchArgs, startMongo, table, uniqueDbName } from '@wacloud/testenv';
import mongoose from 'mongoose';
import pino from 'pino';
import type { LiveEventInput } from '../../dist/live/live-log.js';
import { LiveLogStore, type LiveEventDoc } from '../../dist/live/log-store.js';

const USAGE = `npm run bench -w api -- live-tail [--events N] [--retained R] [--json]\n`;
const BATCH = 100;

interface Replica {
  name: string;
  client: mongoose.mongo.MongoClient;
  store: LiveLogStore;
  /** Ids handed on by the tail, in order. */
  ids: number[];
  /** When the tail handed on its latest event (performance.now()). */
  lastAt: number;
  /** Reads sent so far (`find`, `getMore`). */
  reads: number;
}

async function replica(uri: string, db: string, name: string, pollMs: number): Promise<Replica> {
  const client = new mongoose.mongo.MongoClient(uri, { monitorCommands: true });
  await client.connect();
  const r: Replica = { name, client, store: undefined as unknown as LiveLogStore, ids: [], lastAt: 0, reads: 0 };
  client.on('commandStarted', (e) => {
    if (e.commandName === 'find' || e.commandName === 'getMore') r.reads++;
  });
  const col = client.db(db).collection<LiveEventDoc>('live_events');
  r.store = new LiveLogStore(col, { retentionMs: 3_600_000, pollMs, logger: pino({ level: 'silent' }) });
  await r.store.start();
  r.store.listen((e) => {
    r.ids.push(e.event.id);
    r.lastAt = performance.now();
  });
  return r;
}

const ev = (n: number): LiveEventInput => ({
  type: 'message.new',
  data: { conversationId: `cnv_${n % 50}`, message: { id: `msg_${n}`, body: `bench ${n}`, fromMe: false } },
  audience: { orgId: 'org_bench', instanceId: 'i-benchbenchbe' },
});

async function until(what: string, ok: () => boolean, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether `ids` are exactly `from`…`to`, in order. */
const exact = (ids: number[], from: number, to: number) => ids.length === to - from + 1 && ids.every((id, i) => id === from + i);

/** Runs the live-tail benchmark with the arguments after `live-tail`. */
export async function main(argv: string[]): Promise<void> {
  const args = parseBenchArgs(['live-tail', ...argv], {
    benches: ['live-tail'] as const,
    usage: USAGE,
    sizes: {
      events: { flag: 'events', env: 'BENCH_LIVE_EVENTS', def: 1000, min: 1, max: 100_000 },
      retained: { flag: 'retained', env: 'BENCH_LIVE_RETAINED', def: 10_000, min: 0, max: 1_000_000 },
    },
  });
  const { events, retained } = args.sizes;
  const started = Date.now();
  const mongo = await startMongo();
  const db = uniqueDbName('livetail');
  const uri = mongo.dbUri(db);
  const replicas: Replica[] = [];
  try {
    const setup = new mongoose.mongo.MongoClient(uri);
    await setup.connect();
    const col = setup.db(db).collection<LiveEventDoc>('live_events');
    const at = new Date();
    for (let i = 0; i < retained; i += 1000)
      await col.insertMany(
        Array.from({ length: Math.min(1000, retained - i) }, (_, k) => ({ _id: i + k + 1, ...ev(i + k), at })),
        { ordered: true },
      );
    await setup.close();
    const writer = await replica(uri, db, 'writer (own appends)', 250);
    const reader = await replica(uri, db, 'reader (polls 250 ms)', 250);
    const late = await replica(uri, db, 'catch-up (woken once)', 600_000);
    replicas.push(writer, reader, late);
    await new Promise((r) => setTimeout(r, 300)); // every tail idle
    for (const r of replicas) r.reads = 0;
    const t0 = performance.now();
    for (let i = 0; i < events; i += BATCH)
      await writer.store.appendMany(Array.from({ length: Math.min(BATCH, events - i) }, (_, k) => ev(i + k)));
    const appendMs = performance.now() - t0;
    const last = retained + events;
    await until('the live tails', () => writer.ids.length >= events && reader.ids.length >= events);
    const live = [writer, reader].map((r) => ({ r, ms: r.lastAt - t0, reads: r.reads }));
    const lateReads0 = late.reads;
    const t1 = performance.now();
    await late.store.append(ev(last + 1));
    await until('the catch-up tail', () => late.ids.length >= events + 1);
    const catchUpMs = late.lastAt - t1;
    const catchUpReads = late.reads - lateReads0;
    const ok =
      exact(writer.ids.slice(0, events), retained + 1, last) &&
      exact(reader.ids.slice(0, events), retained + 1, last) &&
      exact(late.ids, retained + 1, last + 1);

    benchOut(
      `${events} events appended in batches of ${BATCH} in ${appendMs.toFixed(0)} ms (${((events / appendMs) * 1000).toFixed(0)}/s), ${retained} retained before, ${mongo.kind}${mongo.backend ? ` (${mongo.backend})` : ''}`,
    );
    const rows = [
      ...live.map(({ r, ms, reads }) => [r.name, events, ms, (events / ms) * 1000, reads, reads / events]),
      [late.name, events + 1, catchUpMs, ((events + 1) / catchUpMs) * 1000, catchUpReads, catchUpReads / (events + 1)],
    ];
    benchOut(table(['tail', 'events', 'ms to last', 'events/s', 'reads', 'reads/event'], rows));
    benchOut(`check: every tail handed every id once, in order → ${ok ? 'OK' : 'FAILED'}`);
    if (!ok) process.exitCode = 1;
    finishReport(
      {
        bench: 'live-tail',
        server: mongo.kind,
        events,
        retained,
        appendMs,
        tails: rows.map(([name, n, ms, rate, reads, perEvent]) => ({
          name,
          events: n,
          ms,
          eventsPerSecond: rate,
          reads,
          readsPerEvent: perEvent,
        })),
        ok,
      } as { totalMs?: number },
      started,
      args.json,
    );
  } finally {
    for (const r of replicas) {
      await r.store.stop();
      await r.client.close();
    }
    await mongo.stop();
  }
}
