/**
 * Nothing lost at shutdown: what the database did not take is in the spill file and replayed by the next start; the
 * spill file is emptied only after its operations were written; a pending coalesced chat touch neither throws after
 * the persister closed nor is lost.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { eventually, startMongo, startProcess, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import type { EngineMessage } from '../src/engines/engine.js';
import { Persister, spillFilePath } from '../src/storage/persistence.js';
import { toMessageDoc } from '../src/storage/messages.js';
import { openStore, type Store } from '../src/storage/store.js';
import { instanceDir, loginWithQr, startInstance, startSimnet, type RunningSimnet } from './harness.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-shutdown-'));

function message(i: number): EngineMessage {
  return {
    id: `false_15550009@c.us_${String(i).padStart(20, '0')}`,
    chatId: '15550009@c.us',
    author: '15550009@c.us',
    fromMe: false,
    isGroup: false,
    type: 'chat',
    body: `message ${i}`,
    timestamp: 1_763_900_000_000 + i,
    ack: 1,
  };
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;

/** A MongoDB-wire server this test may stop, or undefined (with a warning) when MONGODB_URI names an external one. */
async function ownMongo(): Promise<MongoServer | undefined> {
  const own = await startMongo();
  if (own.process) return own;
  await own.stop();
  console.warn('MONGODB_URI names an external server: this test needs a server it can stop');
  return undefined;
}

describe('persister', () => {
  let mongo: MongoServer;
  let store: Store;

  beforeAll(async () => {
    mongo = await startMongo();
    store = await openStore(mongo.dbUri(uniqueDbName('shutdown')));
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await mongo?.stop();
  });

  test('a spill file read back while the database is still down is kept: a crash then replays it, not loses it', async () => {
    const spill = path.join(dir, 'readback.ndjson');
    const gone = await startMongo();
    const deadStore = await openStore(gone.dbUri(uniqueDbName('gone')), 300);
    await gone.stop();
    // First run: the bound of 5 is reached, 15 operations go to the spill file; the process dies.
    const first = new Persister({ store: deadStore, logger, batchSize: 500, flushMs: 20, bufferLimit: 5, spillFile: spill });
    for (let i = 0; i < 20; i++) first.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    expect(lines(spill)).toBe(15);
    // Second run, database still down: it reads the spill file back into memory and fails to write; then it dies too.
    const second = new Persister({ store: deadStore, logger, batchSize: 500, flushMs: 20, bufferLimit: 10_000, spillFile: spill });
    expect(second.pending()).toBe(15);
    await new Promise((r) => setTimeout(r, 1_000)); // the read-back and some failed writes happen meanwhile
    expect(lines(spill)).toBe(15);
    await deadStore.close();
    // Third run, database up: all 15 land.
    const third = new Persister({ store, logger, batchSize: 500, flushMs: 20, bufferLimit: 10_000, spillFile: spill });
    expect(third.pending()).toBe(15);
    await third.flush();
    const ids = Array.from({ length: 15 }, (_, k) => message(5 + k).id);
    expect(await store.col.messages.countDocuments({ _id: { $in: ids } })).toBe(15);
    expect(lines(spill)).toBe(0);
    await third.close();
  }, 30_000);

  test('close with the database unreachable: the flush timeout spills memory and file, in order; the next start replays all', async () => {
    const own = await ownMongo();
    if (!own) return;
    const spill = path.join(dir, 'timeout.ndjson');
    const s = await openStore(own.dbUri(uniqueDbName('down')), 300);
    await s.init();
    await own.stop();
    const p = new Persister({ store: s, logger, batchSize: 500, flushMs: 20, bufferLimit: 30, spillFile: spill });
    for (let i = 100; i < 150; i++) p.enqueue({ kind: 'message', doc: toMessageDoc(message(i)) });
    p.enqueue({ kind: 'ack', id: message(149).id, ack: 3 });
    expect(p.pending()).toBe(51);
    const kept = await p.close(500);
    expect(kept).toBe(51);
    const ops = readFileSync(spill, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; doc?: { _id: string } });
    expect(ops).toHaveLength(51);
    expect(ops.slice(0, 50).map((o) => o.doc!._id)).toEqual(Array.from({ length: 50 }, (_, k) => message(100 + k).id));
    expect(ops[50]!.kind).toBe('ack');
    // Operations arriving after the close go to the spill file too (nothing throws).
    p.enqueue({ kind: 'message', doc: toMessageDoc(message(150)) });
    expect(lines(spill)).toBe(52);
    await s.close();
    const next = new Persister({ store, logger, batchSize: 500, flushMs: 20, bufferLimit: 10_000, spillFile: spill });
    expect(next.pending()).toBe(52);
    await next.flush();
    expect(await store.col.messages.countDocuments({ _id: { $in: Array.from({ length: 51 }, (_, k) => message(100 + k).id) } })).toBe(51);
    expect((await store.col.messages.findOne({ _id: message(149).id }))?.ack).toBe(3);
    expect(lines(spill)).toBe(0);
    await next.close();
  }, 30_000);

  test('a pending chat touch at shutdown: no uncaught exception after the persister closed, and the touch is written', async () => {
    // A separate process, so that an exception thrown by a timer shows as its exit code and stderr.
    const db = uniqueDbName('touch');
    const script = path.join(dir, 'touch.mjs');
    const dist = (p: string) => JSON.stringify(path.join(instanceDir, 'dist', p));
    writeFileSync(
      script,
      `import { Persister } from ${dist('storage/persistence.js')};
import { ChatTouches, CHAT_TOUCH_MS } from ${dist('storage/chat-touches.js')};
import { openStore } from ${dist('storage/store.js')};
const store = await openStore(${JSON.stringify(mongo.dbUri(db))});
await store.init();
const persister = new Persister({ store, logger: { info() {}, warn() {}, error: (o, m) => console.log('logged:', m) }, batchSize: 500, flushMs: 20, bufferLimit: 1000, spillFile: ${JSON.stringify(path.join(dir, 'touch.ndjson'))} });
const touches = new ChatTouches(persister);
touches.touch('15550077@c.us', false, new Date(1000));
touches.touch('15550077@c.us', false, new Date(2000)); // coalesced: pending until the next periodic flush
await persister.close();
await new Promise((r) => setTimeout(r, CHAT_TOUCH_MS + 700)); // the periodic flush would fire now
const chat = await store.col.chats.findOne({ _id: '15550077@c.us' });
await store.close();
console.log('lastMessageAt=' + chat?.lastMessageAt?.getTime());
`,
    );
    const proc = startProcess({ command: process.execPath, args: [script], cwd: instanceDir });
    const code = await proc.exited;
    expect(proc.output()).not.toMatch(/persister is closed|Error/);
    expect(code).toBe(0);
    expect(proc.output()).toContain('lastMessageAt=2000');
  }, 30_000);
});

describe('instance process', () => {
  let simnet: RunningSimnet;
  beforeAll(async () => {
    simnet = await startSimnet();
  }, 30_000);
  afterAll(async () => {
    await simnet?.stop();
  });

  test('database unreachable at SIGTERM: every buffered message is in the spill file, the next start stores them, the exit is clean', async () => {
    const own = await ownMongo();
    if (!own) return;
    const port = Number(new URL(own.uri).port);
    const inst = await startInstance({ mongo: own, simnetUrl: simnet.url, env: { PERSIST_FLUSH_MS: '50' } });
    let again: MongoServer | undefined;
    let next: typeof inst | undefined;
    try {
      const r = await inst.token('r');
      const w = await inst.token('w');
      await loginWithQr(inst, simnet, '15550008101', w);
      await simnet.hook('/hooks/accounts', { phone: '15550008102' });
      await own.stop({ keepData: true });
      for (let i = 0; i < 20; i++) await simnet.hook('/hooks/send', { from: '15550008102', to: '15550008101', text: `while down ${i}` });
      await new Promise((res) => setTimeout(res, 1_000)); // received and queued; the writes fail meanwhile
      await inst.proc.stop(40_000);
      const code = await inst.proc.exited;
      const out = inst.proc.output();
      expect(out).not.toMatch(/persister is closed|uncaught|unhandled/i);
      expect(code).toBe(0);
      const spilled = readFileSync(spillFilePath(inst.dataDir), 'utf8');
      for (let i = 0; i < 20; i++) expect(spilled).toContain(`while down ${i}`);

      again = await startMongo({ port, dataDir: own.dataDir! });
      next = await inst.restart();
      await eventually(
        async () => {
          const list = await next!.api('GET', '/v1/messages?limit=100&q=while%20down', { token: r });
          return list.status === 200 && list.body.items?.length === 20;
        },
        30_000,
        250,
      );
      await eventually(() => lines(spillFilePath(inst.dataDir)) === 0, 10_000);
    } finally {
      await next?.stop();
      await inst.stop();
      await again?.stop();
    }
  }, 120_000);
});
