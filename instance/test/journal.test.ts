/**
 * The inbound journal on its own and with the persister against a real MongoDB-wire server: entries survive the
 * process (read back by the next open), a torn or damaged line is skipped with a warning and the file repaired,
 * committed entries are released (truncation, compaction past the bound), and a replay stores each message once.
 */
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import type { EngineMessage } from '../src/engines/engine.js';
import { Journal, journalFilePath, type JournalOptions } from '../src/storage/journal.js';
import { toMessageDoc } from '../src/storage/messages.js';
import { Persister } from '../src/storage/persistence.js';
import { openStore, type Store } from '../src/storage/store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-journal-'));
let n = 0;

function message(i: number): EngineMessage {
  return {
    id: `false_15550042@c.us_${String(i).padStart(20, '0')}`,
    chatId: '15550042@c.us',
    author: '15550042@c.us',
    fromMe: false,
    isGroup: false,
    type: 'chat',
    body: `journal ${i} ✓`,
    timestamp: 1_763_950_000_000 + i,
    ack: 1,
  };
}

/** Options for a fresh journal file, with its warnings captured. */
function options(over: Partial<JournalOptions> = {}): { opts: JournalOptions; warnings: string[] } {
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) warnings.push((JSON.parse(l) as { msg: string }).msg);
      cb();
    },
  });
  const file = journalFilePath(mkdtempSync(path.join(dir, `j${n++}-`)));
  return { opts: { file, sync: 'write', maxBytes: 1024 * 1024, logger: pino({ level: 'warn' }, sink), ...over }, warnings };
}

const lineCount = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;

describe('journal', () => {
  test('entries appended and never committed are read back by the next open, in order, with their dates', () => {
    const { opts } = options();
    const first = Journal.open(opts).journal;
    const seqs = [0, 1, 2].map((i) => first.append(toMessageDoc(message(i))));
    expect(seqs).toEqual([1, 2, 3]);
    // No close: the process "dies" here.
    const { journal, recovery } = Journal.open(opts);
    expect(recovery.skipped).toBe(0);
    expect(recovery.entries.map((e) => e.doc._id)).toEqual([0, 1, 2].map((i) => message(i).id));
    expect(recovery.entries[2]!.doc.timestamp).toEqual(new Date(message(2).timestamp));
    expect(recovery.entries[2]!.doc.body).toBe('journal 2 ✓');
    // Numbering continues after the entries left in the file.
    expect(journal.append(toMessageDoc(message(3)))).toBe(4);
    expect(journal.pending()).toBe(4);
    journal.close();
    first.close();
  });

  test('a torn last line (kill -9 during a write) and a damaged line are skipped with a warning; later appends are readable', () => {
    const { opts, warnings } = options();
    const j = Journal.open(opts).journal;
    for (let i = 0; i < 4; i++) j.append(toMessageDoc(message(i)));
    j.close();
    // Damage the second line (a byte of its JSON changed: the checksum no longer matches), then a torn tail.
    const lines = readFileSync(opts.file, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('journal 1', 'journal X');
    writeFileSync(opts.file, lines.join('\n'));
    const torn = readFileSync(opts.file, 'utf8').split('\n')[0]!.slice(0, 40);
    appendFileSync(opts.file, torn);

    const { journal, recovery } = Journal.open(opts);
    expect(recovery.skipped).toBe(2);
    expect(recovery.entries.map((e) => e.doc.body)).toEqual(['journal 0 ✓', 'journal 2 ✓', 'journal 3 ✓']);
    expect(warnings.some((w) => /torn or damaged/.test(w))).toBe(true);
    journal.append(toMessageDoc(message(9)));
    journal.close();
    const again = Journal.open(opts);
    expect(again.recovery.skipped).toBe(0);
    expect(again.recovery.entries.map((e) => e.doc.body)).toEqual(['journal 0 ✓', 'journal 2 ✓', 'journal 3 ✓', 'journal 9 ✓']);
    again.journal.close();
  });

  test('committed entries are released: the file is truncated when none is left, compacted past its bound', () => {
    const { opts } = options({ maxBytes: 2_000 });
    const bytes: number[] = [];
    const j = Journal.open({ ...opts, metrics: { bytes: (v) => bytes.push(v), entries: () => undefined } }).journal;
    const seqs = Array.from({ length: 10 }, (_, i) => j.append(toMessageDoc(message(i))));
    expect(j.bytes()).toBeGreaterThan(2_000);
    // Eight of ten committed: over the bound, so the file keeps only the two others.
    j.committed(seqs.slice(0, 8));
    expect(lineCount(opts.file)).toBe(2);
    expect(j.bytes()).toBeLessThan(2_000);
    expect(j.pending()).toBe(2);
    j.append(toMessageDoc(message(10)));
    expect(lineCount(opts.file)).toBe(3);
    j.committed([...seqs.slice(8), 11, 999]);
    expect(j.pending()).toBe(0);
    expect(j.bytes()).toBe(0);
    expect(readFileSync(opts.file, 'utf8')).toBe('');
    expect(bytes.at(-1)).toBe(0);
    j.close();
  });

  test('fsync mode reads back the same', () => {
    const { opts } = options({ sync: 'fsync' });
    const j = Journal.open(opts).journal;
    j.append(toMessageDoc(message(1)));
    expect(Journal.open(opts).recovery.entries).toHaveLength(1);
    j.close();
  });
});

describe('journal with the persister', () => {
  let mongo: MongoServer;
  let store: Store;
  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('journal')));
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await mongo?.stop();
  });

  test('a replay of entries already partly stored stores each message once and empties the journal', async () => {
    const { opts } = options();
    const logger = pino({ level: 'silent' });
    const first = Journal.open(opts).journal;
    const docs = Array.from({ length: 30 }, (_, i) => toMessageDoc(message(100 + i)));
    for (const d of docs) first.append(d);
    // The first ten reached the database before the crash; their entries were not released yet.
    await store.col.messages.insertMany(docs.slice(0, 10));

    const { journal, recovery } = Journal.open(opts);
    const p = new Persister({
      store,
      logger,
      batchSize: 7,
      flushMs: 10,
      bufferLimit: 1_000,
      spillFile: path.join(path.dirname(opts.file), 'spill'),
      onJournaledStored: (seqs) => journal.committed(seqs),
    });
    for (const e of recovery.entries) p.enqueue({ kind: 'message', doc: e.doc, journalSeq: e.seq });
    await p.flush();
    const ids = docs.map((d) => d._id);
    expect(await store.col.messages.countDocuments({ _id: { $in: ids } })).toBe(30);
    expect(journal.pending()).toBe(0);
    expect(readFileSync(opts.file, 'utf8')).toBe('');
    await p.close();
    journal.close();
    first.close();
  }, 30_000);
});

describe('configuration', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/inst', INTERNAL_API_KEY: 'k'.repeat(20) };
  test('journal and gap fill settings: defaults, units, refusals', () => {
    expect(loadInstanceConfig(base)).toMatchObject({
      journalSync: 'write',
      journalMaxBytes: 64 * 1024 * 1024,
      gapFillMessages: 100,
      gapFillChats: 50,
      gapFillActiveMs: 7 * 24 * 3600 * 1000,
    });
    expect(
      loadInstanceConfig({ ...base, JOURNAL_SYNC: 'fsync', JOURNAL_MAX_BYTES: '1m', GAP_FILL_MESSAGES: '0', GAP_FILL_ACTIVE_MS: '2h' }),
    ).toMatchObject({ journalSync: 'fsync', journalMaxBytes: 1024 * 1024, gapFillMessages: 0, gapFillActiveMs: 7_200_000 });
    for (const [k, v] of [
      ['JOURNAL_SYNC', 'sometimes'],
      ['JOURNAL_MAX_BYTES', '0'],
      ['GAP_FILL_MESSAGES', '-1'],
      ['GAP_FILL_MESSAGES', '10001'],
      ['GAP_FILL_CHATS', '0'],
    ] as const) {
      expect(() => loadInstanceConfig({ ...base, [k]: v })).toThrow(new RegExp(k));
    }
  });
});
