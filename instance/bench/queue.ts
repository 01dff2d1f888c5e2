/**
 * Send queue benchmark: what the queue costs per message with the limiter off. The service runs in-process
 * (`startInstanceApp`) with an engine whose `sendText` answers at once, so nearly all the time measured is the queue's
 * own: the HTTP request, the insert of the `queued` record, the sender loop's `sending` and `sent`
 * writes, and the sent message's record (one upsert). `messages` POSTs go out `concurrency` at a time; the clock runs
 * from the first POST until the last record's `sentAt`.
 *
 * Reported: messages/s end to end, wall ms per message (the queue's overhead per message, as the engine costs ~0),
 * the POST answer's latency (p50/p95) and the queued → sent latency (p50/p95).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '@wacloud/instance/config';
import type { EngineMessage } from '@wacloud/instance/engines/engine';
import { startInstanceApp } from '@wacloud/instance/instance-app';
import type { Store } from '@wacloud/instance/storage/store';
import { BenchEngine } from './bench-engine.js';
import { OWN_ID } from './fixtures.js';
import { percentile, round } from './stats.js';

export interface QueueOptions {
  mongo: MongoServer;
  /** Messages queued (N). */
  messages: number;
  /** POSTs in flight at once. */
  concurrency: number;
  log: (line: string) => void;
}

export interface QueueResult {
  messages: number;
  concurrency: number;
  wallMs: number;
  perSec: number;
  /** Wall time per message, ms: the queue's overhead per message with an instant engine and no pacing. */
  msPerMessage: number;
  post: { p50Ms: number; p95Ms: number };
  queuedToSent: { p50Ms: number; p95Ms: number };
  /** The database's floor: the same writes per message (insert, sending, message upsert, sent) by the driver, in a row, ms per message. */
  floorMsPerMessage: number;
}

/** The bench engine, able to send: every text is taken at once (ack 1). */
class InstantSendEngine extends BenchEngine {
  #n = 0;
  override async sendText(to: string, text: string): Promise<EngineMessage> {
    const key = (++this.#n).toString(16).toUpperCase().padStart(20, '0');
    return {
      id: `true_${to}_${key}`,
      chatId: to,
      author: OWN_ID,
      fromMe: true,
      isGroup: false,
      type: 'chat',
      body: text,
      timestamp: Date.now(),
      ack: 1,
    };
  }
}

/** The same writes the queue makes per message, straight through the driver one after another: ms per message. */
async function driverFloorMs(store: Store, n: number): Promise<number> {
  const outgoing = store.connection.db!.collection<{ _id: string; [k: string]: unknown }>('bench_floor_outgoing');
  const messages = store.connection.db!.collection<{ _id: string; [k: string]: unknown }>('bench_floor_messages');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const _id = `out_${i}`;
    const now = new Date();
    await outgoing.insertOne({
      _id,
      status: 'queued',
      chatId: '15550000001@c.us',
      body: `bench message ${i}`,
      createdAt: now,
      updatedAt: now,
    });
    await outgoing.updateOne({ _id }, { $set: { status: 'sending', sendingAt: new Date(), updatedAt: new Date() } });
    await messages.updateOne(
      { _id: `m${i}` },
      { $setOnInsert: { body: `bench message ${i}`, timestamp: now }, $max: { ack: 1 } },
      { upsert: true },
    );
    await outgoing.updateOne({ _id }, { $set: { status: 'sent', messageId: `m${i}`, sentAt: new Date(), updatedAt: new Date() } });
  }
  return (performance.now() - t0) / n;
}

export async function runQueue(o: QueueOptions): Promise<QueueResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-queue-'));
  const internalKey = 'bench-queue-internal-key';
  const config = loadInstanceConfig({
    PORT: '0',
    INTERNAL_PORT: '0',
    HOST: '127.0.0.1',
    MONGODB_URI: o.mongo.dbUri(uniqueDbName('benchqueue')),
    INTERNAL_API_KEY: internalKey,
    DATA_DIR: dataDir,
    AUTO_START: 'false',
    SEND_RATE_PER_S: '0',
    SEND_CHAT_GAP_MS: '0',
    LOG_LEVEL: 'silent',
  });
  const app = await startInstanceApp(config, pino({ level: 'silent' }), new InstantSendEngine());
  try {
    const created = await fetch(`${app.internalUrl}/internal/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', permissions: 'w' }),
    });
    const { token } = (await created.json()) as { token: string };
    const postMs: number[] = [];
    let next = 0;
    const startedAt = Date.now();
    const worker = async () => {
      while (next < o.messages) {
        const i = next++;
        const t0 = performance.now();
        const res = await fetch(`${app.publicUrl}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: `1555${String(i % 50).padStart(7, '0')}`, text: `bench message ${i} ${'x'.repeat(80)}` }),
        });
        if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        postMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    o.log(`queue: ${o.messages} queued; waiting until sent`);
    // Polled rarely (FerretDB scans the collection for this count); the end is the last record's sentAt, not the poll.
    while ((await app.store.col.outgoing.countDocuments({ status: 'sent' })) < o.messages) await sleep(250);
    const docs = await app.store.col.outgoing.find({}, { projection: { createdAt: 1, sentAt: 1 } }).toArray();
    const wallMs = Math.max(...docs.map((d) => d.sentAt!.getTime())) - startedAt;
    const latencies = docs.map((d) => d.sentAt!.getTime() - d.createdAt.getTime());
    return {
      messages: o.messages,
      concurrency: o.concurrency,
      wallMs: round(wallMs, 0),
      perSec: round((o.messages * 1000) / wallMs, 0),
      msPerMessage: round(wallMs / o.messages, 2),
      post: { p50Ms: round(percentile(postMs, 50), 1), p95Ms: round(percentile(postMs, 95), 1) },
      queuedToSent: { p50Ms: round(percentile(latencies, 50), 0), p95Ms: round(percentile(latencies, 95), 0) },
      floorMsPerMessage: round(await driverFloorMs(app.store, o.messages), 2),
    };
  } finally {
    await app.store.connection.dropDatabase().catch(() => {});
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
