/**
 * Benchmarks of the instance service (`npm run bench -w instance [-- ingest|query] [--json] [sizes…]`).
 * Prints figures — never asserts timing. Progress goes to stderr, the report to stdout, and with `--json` one JSON
 * line is printed last.
 *
 * Sizes (flag, else environment variable, else default):
 *   --messages / BENCH_MESSAGES     ingestion: messages per run (N)                    default 20000
 *   --runs / BENCH_RUNS             ingestion, history, media: runs per side (median)  default 3
 *   --yield-every / BENCH_YIELD     ingestion: emits between event-loop yields         default 500
 *   --stored / BENCH_STORED         query: stored messages (M)                         default 100000
 *   --iterations / BENCH_ITERATIONS query: timed calls per query and side (K)          default 100
 *   --warmup / BENCH_WARMUP         query: untimed calls per query and side            default 10
 *   --chats / BENCH_CHATS           both: chats the messages are spread over           default 60 (see fixtures.ts)
 *   --stall-ms / BENCH_STALL_MS     ingestion: fail when the persister is stuck this long default 30000
 *   --appends / BENCH_APPENDS       journal: appends per durability mode               default 5000
 *   BENCH_JOURNAL_DIR               journal: where the journal files go                default bench/.journal
 *   --sends / BENCH_SENDS           queue: messages sent through the send queue        default 1000
 *   --send-concurrency / BENCH_SEND_CONCURRENCY  queue: POSTs in flight at once        default 8
 *   --history-messages / BENCH_HISTORY_MESSAGES  history: messages imported per run     default 50000
 *   --history-per-chat / BENCH_HISTORY_PER_CHAT  history: messages per chat (N)         default 50
 *   --media-files / BENCH_MEDIA_FILES     media: images sent through the queue      default 100
 *   --media-bytes / BENCH_MEDIA_BYTES     media: bytes per image                    default 1048576
 *   --media-concurrency / BENCH_MEDIA_CONCURRENCY  media: uploads in flight at once default 4
 *   --memory-settle-ms / BENCH_MEMORY_SETTLE_MS    memory: wait once idle before reading default 15000
 *   --memory-samples / BENCH_MEMORY_SAMPLES        memory: readings 1 s apart (median) default 5
 *   BENCH_INSTANCE_NODE_OPTIONS     memory: the instance's NODE_OPTIONS (default: instance/Dockerfile's)
 *   BENCH_INSTANCE_NODE_FLAGS       memory: V8 flags on its command line, space-separated (default: src/node-flags.ts)
 *
 * A MongoDB-wire server is started with @wacloud/testenv (`MONGODB_URI` to use an external one) and stopped at the end.
 *
 * The defaults keep a full run within about 5 minutes on a busy 2-core machine with the test environment's server,
 * FerretDB v1 on PostgreSQL with wacloud's pushdown patch, which reads a page of a sorted `find` through an index
 * (docs/embedded-database.md). FerretDB on SQLite (`WACLOUD_TEST_FERRETDB=sqlite`) reads and sorts the whole
 * collection for every sorted `find` (~57 µs per stored message on an idle core): use `--stored 2000` there.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  benchLog as log,
  benchOut as out,
  benchRow,
  finishReport,
  parseBenchArgs,
  runBench,
  startMongo,
  type BenchSize,
  type MongoServer,
} from '@wacloud/testenv';
import { DEFAULT_CHATS } from './fixtures.js';
import { runIngest, type IngestResult } from './ingest.js';
import { runJournal, type JournalResult } from './journal.js';
import { runQuery, type QueryResult } from './query.js';
import { runHistory, type HistoryResult } from './history.js';
import { runMedia, type MediaBenchResult } from './media.js';
import { runQueue, type QueueResult } from './queue.js';
import { printMemory } from './memory-report.js';
import { runMemory, type MemoryResult } from './memory.js';
import { fmt, table } from './stats.js';

const BENCHES = ['ingest', 'query', 'journal', 'queue', 'history', 'media', 'memory'] as const;

const SIZE_SOURCES = {
  messages: { flag: 'messages', env: 'BENCH_MESSAGES', def: 20_000, min: 1 },
  runs: { flag: 'runs', env: 'BENCH_RUNS', def: 3, min: 1 },
  yieldEvery: { flag: 'yield-every', env: 'BENCH_YIELD', def: 500, min: 1 },
  // 100,000 (an active account's history). FerretDB on SQLite needs --stored 2000 (see above).
  stored: { flag: 'stored', env: 'BENCH_STORED', def: 100_000, min: 100 },
  // 100 / 10, not 200 / 20: with 2 cores shared with other jobs a FerretDB query takes 0.1–0.25 s, and 8 × 220 calls
  // pushed a full run to ~9 minutes.
  iterations: { flag: 'iterations', env: 'BENCH_ITERATIONS', def: 100, min: 1 },
  warmup: { flag: 'warmup', env: 'BENCH_WARMUP', def: 10, min: 0 },
  chats: { flag: 'chats', env: 'BENCH_CHATS', def: DEFAULT_CHATS, min: 2 },
  stallMs: { flag: 'stall-ms', env: 'BENCH_STALL_MS', def: 30_000, min: 1000 },
  appends: { flag: 'appends', env: 'BENCH_APPENDS', def: 5_000, min: 1 },
  sends: { flag: 'sends', env: 'BENCH_SENDS', def: 1_000, min: 1 },
  sendConcurrency: { flag: 'send-concurrency', env: 'BENCH_SEND_CONCURRENCY', def: 8, min: 1 },
  historyMessages: { flag: 'history-messages', env: 'BENCH_HISTORY_MESSAGES', def: 50_000, min: 1 },
  historyPerChat: { flag: 'history-per-chat', env: 'BENCH_HISTORY_PER_CHAT', def: 50, min: 1 },
  mediaFiles: { flag: 'media-files', env: 'BENCH_MEDIA_FILES', def: 100, min: 1 },
  mediaBytes: { flag: 'media-bytes', env: 'BENCH_MEDIA_BYTES', def: 1024 * 1024, min: 1024 },
  mediaConcurrency: { flag: 'media-concurrency', env: 'BENCH_MEDIA_CONCURRENCY', def: 4, min: 1 },
  memorySettleMs: { flag: 'memory-settle-ms', env: 'BENCH_MEMORY_SETTLE_MS', def: 15_000, min: 0 },
  memorySamples: { flag: 'memory-samples', env: 'BENCH_MEMORY_SAMPLES', def: 5, min: 1 },
} satisfies Record<string, BenchSize>;

type Sizes = Record<keyof typeof SIZE_SOURCES, number>;

const USAGE =
  'usage: npm run bench -w instance -- [ingest|query|journal|queue|history|media|memory] [--json] [--messages N] [--runs R] [--yield-every Y] [--stored M] [--iterations K] [--warmup W] [--chats C] [--stall-ms MS] [--appends A] [--sends S] [--send-concurrency C] [--history-messages N] [--history-per-chat P] [--media-files F] [--media-bytes B] [--media-concurrency C] [--memory-settle-ms MS] [--memory-samples N]\n';

/** One row of `make bench`'s table (testenv benchRow) for this workspace. */
function row(figure: string, value: number, goal: string, bench: string, unit = '×'): void {
  benchRow({ component: 'instance', figure, value, unit, goal, reproduce: `npm run bench -w instance -- ${bench}` });
}

function printIngest(r: IngestResult): void {
  out(`Ingestion — ${fmt(r.messages)} messages per run, median of ${r.runs} runs per side, each in a fresh database`);
  out(
    `  path: engine 'message' events → EventRecorder → Persister (batch ${r.persister.batchSize}, flush ${r.persister.flushMs} ms, buffer ${fmt(r.persister.bufferLimit)}) → MongoDB`,
  );
  out(`  raw:  messages.insertMany(ordered: false), batches of ${r.persister.batchSize}, same documents`);
  out();
  out(
    table(
      ['side', 'messages/s (median)', 'wall ms (median)', 'runs (messages/s)'],
      [
        ['path', r.path.medianPerSec, r.path.medianMs, r.path.runsPerSec.map(fmt).join(' / ')],
        ['raw insertMany', r.raw.medianPerSec, r.raw.medianMs, r.raw.runsPerSec.map(fmt).join(' / ')],
      ],
    ),
  );
  out();
  out(`  ratio path / raw = ${r.ratio.toFixed(2)}  (target ≥ 0.70)`);
  row('ingest: messages/s path / raw insertMany', r.ratio, '≥ 0.7', 'ingest');
  out();
  out(`  where the path's time goes (mean per run; the persister writes one batch at a time):`);
  out(
    table(
      ['driver call', 'calls', 'ms', '% of path wall'],
      [
        ...r.pathCalls.map((c) => [`path: ${c.call}`, c.calls, c.ms, (c.ms / r.path.meanMs) * 100]),
        ['path: wall (all of it)', r.pathCalls.reduce((a, c) => a + c.calls, 0), r.path.meanMs, 100],
        ['raw:  messages.insertMany', Math.ceil(r.messages / r.persister.batchSize), r.raw.meanMs, (r.raw.meanMs / r.path.meanMs) * 100],
      ],
      '  ',
    ),
  );
  out();
}

function printQuery(r: QueryResult): void {
  out(`Query — GET /v1/messages over HTTP vs the same find() through the driver, ${fmt(r.stored)} stored messages`);
  out(`  ${r.iterations} timed calls per query and side (after ${r.warmup} warm-up calls), sequential, sides interleaved; latencies in ms`);
  out();
  out(
    table(
      ['query', 'items', 'HTTP p50', 'HTTP p95', 'driver p50', 'driver p95', 'p50 HTTP-driver', 'p50 ratio'],
      r.queries.map((q) => [
        q.name,
        q.items,
        q.http.p50Ms,
        q.http.p95Ms,
        q.driver.p50Ms,
        q.driver.p95Ms,
        q.http.p50Ms - q.driver.p50Ms,
        q.ratio,
      ]),
    ),
  );
  out();
  for (const q of r.queries) out(`  ${q.name.padEnd(7)} ${q.request}`);
  out(`  target: p50 ratio HTTP / driver ≤ 2`);
  for (const q of r.queries) row(`query ${q.name}: p50 HTTP / driver`, q.ratio, '≤ 2', 'query');
  out();
}

function printJournal(r: JournalResult): void {
  out(`Inbound journal — ${fmt(r.appends)} appends per mode, one at a time, ${Math.round(r.entryBytes)} bytes per entry`);
  out(`  file system of ${r.dir}: statfs type ${r.fsType}; latencies in µs per message`);
  out();
  out(
    table(
      ['mode', 'p50 µs', 'p99 µs', 'mean µs', 'messages/s'],
      r.sides.map((s) => [s.mode, s.p50Us, s.p99Us, s.meanUs, s.perSec]),
    ),
  );
  out();
}

function printQueue(r: QueueResult): void {
  out(`Send queue — ${fmt(r.messages)} messages, limiter off, an engine that sends instantly, ${r.concurrency} POSTs in flight`);
  out('  path: POST /v1/messages (insert queued) → sender loop (sending, engine, sent record, sent) → all sent');
  out('  driver floor: the same four writes per message straight through the driver, one after another');
  out();
  out(
    table(
      ['messages/s', 'ms per message', 'driver floor ms', 'POST p50 ms', 'POST p95 ms', 'queued→sent p50 ms', 'queued→sent p95 ms'],
      [[r.perSec, r.msPerMessage, r.floorMsPerMessage, r.post.p50Ms, r.post.p95Ms, r.queuedToSent.p50Ms, r.queuedToSent.p95Ms]],
    ),
  );
  out();
  row('send queue: ms per message / driver floor of its writes', r.msPerMessage / r.floorMsPerMessage, '', 'queue');
}

function printHistory(r: HistoryResult): void {
  out(
    `History import — ${fmt(r.messages)} messages (${fmt(r.chats)} chats × ${r.perChat}), median of ${r.runs} runs per side, fresh databases`,
  );
  out(
    `  path: SyncService.run(): contacts, chats, groups, then Engine.messagesSince per chat → insertMany(ordered: false) in batches of ${fmt(r.batch)}`,
  );
  out('  raw:  one messages.insertMany(ordered: false) of the same documents');
  out();
  out(
    table(
      ['side', 'wall ms (median)', 'messages/s', 'runs (ms)'],
      [
        ['history import', r.sync.medianMs, r.sync.perSec, r.sync.runsMs.map(fmt).join(' / ')],
        ['raw insertMany', r.raw.medianMs, r.raw.perSec, r.raw.runsMs.map(fmt).join(' / ')],
      ],
    ),
  );
  out();
  out(`  ratio import / raw = ${r.ratio.toFixed(2)}  (target ≤ 1.6)`);
  row('history import: wall / raw insertMany', r.ratio, '≤ 1.6', 'history');
  out();
}

function printMedia(r: MediaBenchResult): void {
  out(
    `Media sends — ${fmt(r.files)} images of ${fmt(r.fileBytes)} bytes, limiter off, an engine that sends instantly, ${r.concurrency} uploads in flight, median of ${r.runs} runs per side (path, raw alternating; fresh databases)`,
  );
  out('  path: POST /v1/messages/media (multipart, magic-byte check, GridFS write, queued) → sender loop → engine → all sent');
  out('  raw:  GridFSBucket.openUploadStream of the same bytes through the driver, same concurrency, same server');
  out();
  out(
    table(
      ['side', 'MB/s (median)', 'wall ms (median)', 'runs (ms)'],
      [
        ['path', r.path.mbPerSec, r.path.wallMs, r.path.runsMs.map(fmt).join(' / ')],
        ['raw GridFS', r.raw.mbPerSec, r.raw.wallMs, r.raw.runsMs.map(fmt).join(' / ')],
      ],
    ),
  );
  out();
  out(`  ratio path / raw = ${r.ratio.toFixed(2)}  (target ≥ 0.50)`);
  row('media sends: MB/s path / raw GridFS', r.ratio, '≥ 0.5', 'media');
  out();
}

async function main(): Promise<void> {
  const { benches, json, sizes } = parseBenchArgs(process.argv.slice(2), { benches: BENCHES, sizes: SIZE_SOURCES, usage: USAGE });
  const started = Date.now();
  log('starting a MongoDB-wire server');
  const mongo: MongoServer = await startMongo();
  const report: {
    node: string;
    mongoKind: string;
    cpus: number;
    sizes: Sizes;
    ingest?: IngestResult;
    query?: QueryResult;
    journal?: JournalResult;
    queue?: QueueResult;
    history?: HistoryResult;
    media?: MediaBenchResult;
    memory?: MemoryResult;
    totalMs?: number;
  } = {
    node: process.version,
    mongoKind: mongo.kind,
    cpus: os.availableParallelism(),
    sizes,
  };
  try {
    out(
      `wacloud instance benchmarks — Node ${process.version}, MongoDB-wire server: ${mongo.kind}${mongo.backend ? ` on ${mongo.backend}` : ''}, ${report.cpus} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`,
    );
    out();
    if (benches.includes('ingest')) {
      report.ingest = await runIngest({
        mongo,
        messages: sizes.messages,
        runs: sizes.runs,
        yieldEvery: sizes.yieldEvery,
        chats: sizes.chats,
        stallMs: sizes.stallMs,
        log,
      });
      printIngest(report.ingest);
    }
    if (benches.includes('query')) {
      report.query = await runQuery({
        mongo,
        stored: sizes.stored,
        iterations: sizes.iterations,
        warmup: sizes.warmup,
        chats: sizes.chats,
        log,
      });
      printQuery(report.query);
    }
    if (benches.includes('journal')) {
      const dir = process.env.BENCH_JOURNAL_DIR || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.journal');
      report.journal = await runJournal({ appends: sizes.appends, dir, log });
      printJournal(report.journal);
    }
    if (benches.includes('queue')) {
      report.queue = await runQueue({ mongo, messages: sizes.sends, concurrency: sizes.sendConcurrency, log });
      printQueue(report.queue);
    }
    if (benches.includes('history')) {
      report.history = await runHistory({ mongo, messages: sizes.historyMessages, perChat: sizes.historyPerChat, runs: sizes.runs, log });
      printHistory(report.history);
    }
    if (benches.includes('media')) {
      report.media = await runMedia({
        mongo,
        files: sizes.mediaFiles,
        fileBytes: sizes.mediaBytes,
        concurrency: sizes.mediaConcurrency,
        runs: sizes.runs,
        log,
      });
      printMedia(report.media);
    }
    if (benches.includes('memory')) {
      report.memory = await runMemory({ mongo, settleMs: sizes.memorySettleMs, samples: sizes.memorySamples, log });
      printMemory(report.memory, out);
    }
  } finally {
    await mongo.stop();
  }
  finishReport(report, started, json);
}

runBench(main);
