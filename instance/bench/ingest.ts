/**
 * Ingestion benchmark: engine `message` events → EventRecorder → Persister → MongoDB, against a raw `insertMany` of the
 * same documents on the same server.
 *
 * Path under test: a real {@link EventRecorder} with a real {@link Persister} (batch size, flush interval and buffer limit
 * as the service's defaults) and a real {@link WebhookSettingsService} without a webhook URL, driven by an in-process
 * {@link BenchEngine}. Messages are emitted as fast as possible, yielding to the event loop every `yieldEvery`
 * messages; the clock runs from the first emit until `persister.flush()` resolves. This path also upserts one chat
 * document per message (batched per flush) — that is part of what the service does for every message.
 *
 * Baseline: `store.col.messages.insertMany(docs, { ordered: false })` in batches of the same size, with the documents
 * built beforehand by `toMessageDoc` (undefined fields dropped, exactly as the persister stores them).
 *
 * Each side writes into a fresh database with the service's indexes (`store.init()`), and its stored count is
 * checked against N before the figure is kept.
 *
 * To show where the path's time goes, the driver calls the persister makes are timed (a thin wrapper on the store's
 * collection objects; the persister itself is unchanged).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pino } from 'pino';
import { uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '@wacloud/instance/config';
import type { EngineMessage } from '@wacloud/instance/engines/engine';
import { createMetrics } from '@wacloud/instance/metrics';
import { EventRecorder } from '@wacloud/instance/services/event-recorder';
import { LiveEvents } from '@wacloud/instance/services/live-events';
import { Persister, spillFilePath } from '@wacloud/instance/storage/persistence';
import { openStore, type Store } from '@wacloud/instance/storage/store';
import { WebhookOutbox } from '@wacloud/instance/webhooks/outbox';
import { WebhookSettingsService } from '@wacloud/instance/webhooks/settings';
import { BenchEngine } from './bench-engine.js';
import { makeMessages, storedDoc } from './fixtures.js';
import { median } from './stats.js';

export interface IngestOptions {
  mongo: MongoServer;
  /** Messages per run (N). */
  messages: number;
  /** Runs per side; the median is reported. */
  runs: number;
  /** Emit this many messages between two yields to the event loop. */
  yieldEvery: number;
  /** Chats the messages are spread over. */
  chats: number;
  /** Give up when the persister makes no progress for this long, ms (a stalled driver call). */
  stallMs: number;
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

export interface IngestSide {
  /** Wall time of each run, ms. */
  runsMs: number[];
  /** Throughput of each run, messages/s. */
  runsPerSec: number[];
  /** Median throughput, messages/s. */
  medianPerSec: number;
  /** Median wall time, ms. */
  medianMs: number;
  /** Mean wall time, ms (the base of the per-call breakdown, which is a mean too). */
  meanMs: number;
}

/** Time the path spent inside one kind of driver call, mean over runs. */
export interface CallTime {
  /** e.g. `messages.insertMany`. */
  call: string;
  /** Calls per run. */
  calls: number;
  /** Time inside those calls per run, ms. */
  ms: number;
}

export interface IngestResult {
  messages: number;
  runs: number;
  /** Persister settings used by the path (the service's defaults). */
  persister: { batchSize: number; flushMs: number; bufferLimit: number };
  path: IngestSide;
  /** Where the path's wall time went: driver calls made by the persister (mean over runs). */
  pathCalls: CallTime[];
  raw: IngestSide;
  /** path / raw median throughput (≥ 0.7 is the target). */
  ratio: number;
}

/** The persistence settings `startInstanceApp` would use with an otherwise empty environment. */
export function servicePersistDefaults(): IngestResult['persister'] {
  const c = loadInstanceConfig({ MONGODB_URI: 'mongodb://127.0.0.1:1/defaults', INTERNAL_API_KEY: 'bench-defaults-only-key' });
  return { batchSize: c.persistBatchSize, flushMs: c.persistFlushMs, bufferLimit: c.persistBufferLimit };
}

export async function runIngest(o: IngestOptions): Promise<IngestResult> {
  const settings = servicePersistDefaults();
  const { messages } = makeMessages({ count: o.messages, chats: o.chats, keyPrefix: 'I' });
  const pathMs: number[] = [];
  const rawMs: number[] = [];
  const calls = new Map<string, { calls: number; ms: number }>();
  // Alternate the sides so drift on a shared machine (caches, neighbours) hits both alike.
  for (let run = 1; run <= o.runs; run++) {
    const p = await ingestThroughRecorder(o, messages, settings, calls);
    pathMs.push(p);
    o.log(`ingest run ${run}/${o.runs}: path ${Math.round(p)} ms (${Math.round((o.messages / p) * 1000)} msg/s)`);
    const r = await ingestRaw(o, messages, settings.batchSize);
    rawMs.push(r);
    o.log(`ingest run ${run}/${o.runs}: raw  ${Math.round(r)} ms (${Math.round((o.messages / r) * 1000)} msg/s)`);
  }
  const side = (runsMs: number[]): IngestSide => {
    const runsPerSec = runsMs.map((ms) => (o.messages / ms) * 1000);
    return {
      runsMs,
      runsPerSec,
      medianPerSec: median(runsPerSec),
      medianMs: median(runsMs),
      meanMs: runsMs.reduce((a, b) => a + b, 0) / runsMs.length,
    };
  };
  const through = side(pathMs);
  const raw = side(rawMs);
  const pathCalls = [...calls].map(([call, c]) => ({ call, calls: c.calls / o.runs, ms: c.ms / o.runs }));
  return {
    messages: o.messages,
    runs: o.runs,
    persister: settings,
    path: through,
    pathCalls,
    raw,
    ratio: through.medianPerSec / raw.medianPerSec,
  };
}

/** One run of the path under test in a fresh database. Returns the wall time, ms. */
async function ingestThroughRecorder(
  o: IngestOptions,
  messages: EngineMessage[],
  settings: IngestResult['persister'],
  calls: Map<string, { calls: number; ms: number }>,
): Promise<number> {
  const store = await freshStore(o.mongo, 'bi_path');
  for (const name of ['messages', 'chats', 'contacts', 'outbox'] as const) {
    timeCalls(store.col[name], 'insertMany', `${name}.insertMany`, calls);
    timeCalls(store.col[name], 'bulkWrite', `${name}.bulkWrite`, calls);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-ingest-'));
  try {
    const logger = pino({ level: 'silent' });
    const metrics = createMetrics({ outboxDepth: async () => 0, browserMemoryBytes: async () => undefined });
    const persister = new Persister({ store, logger, metrics, ...settings, spillFile: spillFilePath(dataDir) });
    const webhooks = new WebhookSettingsService(store, {
      url: undefined,
      secret: undefined,
      events: ['message', 'message.ack', 'session.status'],
    });
    // Steady state: the settings are cached after the first event; read them once so the run does not measure a
    // cold-cache stampede of identical reads.
    await webhooks.get();
    const engine = new BenchEngine();
    const recorder = new EventRecorder({
      engine,
      store,
      persister,
      outbox: new WebhookOutbox(webhooks, persister),
      live: new LiveEvents(),
      metrics,
      logger,
    });

    const t0 = performance.now();
    for (let i = 0; i < messages.length; i++) {
      engine.emit('message', messages[i]!);
      if ((i + 1) % o.yieldEvery === 0) await yieldToLoop();
    }
    await flushOrStall(persister, o.stallMs, calls);
    const ms = performance.now() - t0;

    recorder.close();
    await persister.close();
    metrics.registry.clear();
    await expectCount(store, messages.length, 'path');
    return ms;
  } finally {
    await dropAndClose(store);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One run of the baseline in a fresh database. Returns the wall time, ms. */
async function ingestRaw(o: IngestOptions, messages: EngineMessage[], batchSize: number): Promise<number> {
  const store = await freshStore(o.mongo, 'bi_raw');
  try {
    const docs = messages.map((m) => storedDoc(m));
    const t0 = performance.now();
    for (let i = 0; i < docs.length; i += batchSize) {
      await store.col.messages.insertMany(docs.slice(i, i + batchSize), { ordered: false });
    }
    const ms = performance.now() - t0;
    await expectCount(store, messages.length, 'raw');
    return ms;
  } finally {
    await dropAndClose(store);
  }
}

/**
 * `persister.flush()`, or a rejection naming the stall when the number of pending operations has not moved for
 * `stallMs` (a driver call that never returns would otherwise hang the benchmark forever).
 */
async function flushOrStall(persister: Persister, stallMs: number, calls: Map<string, { calls: number; ms: number }>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let last = persister.pending();
    let since = Date.now();
    timer = setInterval(() => {
      const now = persister.pending();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= stallMs) {
        const seen = [...calls].map(([k, v]) => `${k}×${v.calls}`).join(', ');
        reject(
          new Error(
            `ingest path stalled: ${now} operations pending and no progress for ${Math.round(stallMs / 1000)} s (driver calls so far: ${seen}). ` +
              'FerretDB v1 never answers an update command with ≥ 100 statements matching existing documents; ' +
              'the persister sends all chat upserts of a batch in one bulkWrite — use fewer than 100 chats (--chats).',
          ),
        );
      }
    }, 500);
  });
  try {
    await Promise.race([persister.flush(), stalled]);
  } finally {
    clearInterval(timer);
  }
}

/**
 * Replaces `target[method]` (on the instance, shadowing the prototype) by a wrapper that adds each call's duration
 * (ms) and count to `into[label]`. Only calls that happen are recorded.
 */
function timeCalls<T extends object>(
  target: T,
  method: keyof T & string,
  label: string,
  into: Map<string, { calls: number; ms: number }>,
): void {
  const original = target[method] as unknown as (...args: unknown[]) => Promise<unknown>;
  const wrapped = async (...args: unknown[]): Promise<unknown> => {
    // The driver implements insertMany with bulkWrite on the same collection: count the outer call only.
    const depth = activeCalls.get(target) ?? 0;
    activeCalls.set(target, depth + 1);
    const start = performance.now();
    try {
      return await original.apply(target, args);
    } finally {
      activeCalls.set(target, (activeCalls.get(target) ?? 1) - 1);
      if (depth === 0) {
        const entry = into.get(label) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += performance.now() - start;
        into.set(label, entry);
      }
    }
  };
  Object.defineProperty(target, method, { value: wrapped, configurable: true, writable: true });
}

/** Driver calls in progress per wrapped collection (see {@link timeCalls}). */
const activeCalls = new WeakMap<object, number>();

async function freshStore(mongo: MongoServer, prefix: string): Promise<Store> {
  const store = await openStore(mongo.dbUri(uniqueDbName(prefix)));
  await store.init();
  return store;
}

async function dropAndClose(store: Store): Promise<void> {
  await store.connection.dropDatabase().catch(() => undefined);
  await store.close();
}

async function expectCount(store: Store, n: number, side: string): Promise<void> {
  const stored = await store.col.messages.countDocuments({});
  if (stored !== n) throw new Error(`ingest ${side}: ${stored} messages stored, expected ${n} — the figure would be bogus`);
}
