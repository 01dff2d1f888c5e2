/**
 * Media send benchmark: `files` images of `fileBytes` each uploaded with `POST /v1/messages/media` (multipart) and sent
 * through the send queue with the limiter off, by the service in-process (`startInstanceApp`) with an engine whose
 * `sendMedia` answers at once; the clock runs from the first POST until the last record's `sentAt`. The path includes
 * the upload, the magic-byte check, the GridFS write, the queue's records, the engine call and the message record.
 *
 * Raw side: the same bytes written as GridFS files straight through the driver's `GridFSBucket` on the same server,
 * with the same concurrency. `runs` pairs (path, then raw), each in a fresh database with a fresh service, as the
 * ingestion and history benches do: one pair moved 0.49–0.60 between tables. A first pair is run and not measured (a
 * warm-up: the service imports multer and file-type at its first upload, and V8 compiles both sides' hot code; the
 * table of 2026-12-04 23:47 had path runs of 3,210 / 2,733 / 2,004 ms against raw 1,468 / 1,156 / 1,146 without it).
 * Reported: the median wall time of each side, MB/s from it, each run's, and the ratio of the medians path / raw
 * (target ≥ 0.5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { GridFSBucket } from 'mongodb';
import { pino } from 'pino';
import { uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '@wacloud/instance/config';
import type { OutgoingMedia } from '@wacloud/instance/engines/engine-media';
import type { EngineMessage } from '@wacloud/instance/engines/engine';
import { startInstanceApp } from '@wacloud/instance/instance-app';
import { BenchEngine } from './bench-engine.js';
import { OWN_ID } from './fixtures.js';
import { median, round } from './stats.js';

export interface MediaBenchOptions {
  mongo: MongoServer;
  /** Files sent. */
  files: number;
  /** Bytes per file. */
  fileBytes: number;
  /** Uploads (and raw writes) in flight at once. */
  concurrency: number;
  /** Pairs of runs (path, raw); the medians are reported. */
  runs: number;
  log: (line: string) => void;
}

/** One side's figures: the median run's wall time (ms) and MB/s, and every run's wall time (ms), in order. */
export interface MediaSide {
  wallMs: number;
  mbPerSec: number;
  runsMs: number[];
}

export interface MediaBenchResult {
  files: number;
  fileBytes: number;
  concurrency: number;
  runs: number;
  path: MediaSide;
  raw: MediaSide;
  ratio: number;
}

/** The bench engine, able to send media: every file is taken at once (ack 1). */
class InstantMediaEngine extends BenchEngine {
  #n = 0;
  override async sendMedia(to: string, media: OutgoingMedia): Promise<EngineMessage> {
    const key = (++this.#n).toString(16).toUpperCase().padStart(20, '0');
    return {
      id: `true_${to}_${key}`,
      chatId: to,
      author: OWN_ID,
      fromMe: true,
      isGroup: false,
      type: media.type,
      body: media.caption ?? '',
      timestamp: Date.now(),
      ack: 1,
      media: { mimetype: media.mimetype, size: media.data.length },
    };
  }
}

/** A JPEG of `size` bytes (SOI + APP0, filler without markers, EOI). */
function jpeg(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size, (seed % 200) + 1);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(data, 0);
  data.writeUInt32BE(seed, 16);
  data[size - 2] = 0xff;
  data[size - 1] = 0xd9;
  return data;
}

/** Runs `count` jobs with `concurrency` in flight. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

/** Runs `o.runs` pairs (see the file's docstring) and reports their medians. */
export async function runMedia(o: MediaBenchOptions): Promise<MediaBenchResult> {
  const files = Array.from({ length: o.files }, (_, i) => jpeg(o.fileBytes, i + 1));
  const totalMb = (o.files * o.fileBytes) / (1024 * 1024);
  const pathMs: number[] = [];
  const rawMs: number[] = [];
  await runPair(o, files, 'warm-up (not measured)');
  for (let run = 1; run <= o.runs; run++) {
    const pair = await runPair(o, files, `run ${run}/${o.runs}`);
    pathMs.push(pair.pathMs);
    rawMs.push(pair.rawMs);
  }
  const side = (runs: number[]): MediaSide => {
    const wallMs = median(runs);
    return { wallMs: round(wallMs, 0), mbPerSec: round(totalMb / (wallMs / 1000), 2), runsMs: runs.map((ms) => round(ms, 0)) };
  };
  const path_ = side(pathMs);
  const raw = side(rawMs);
  return {
    files: o.files,
    fileBytes: o.fileBytes,
    concurrency: o.concurrency,
    runs: o.runs,
    path: path_,
    raw,
    ratio: round(median(rawMs) / median(pathMs), 2),
  };
}

/** One pair in a fresh database: the path's wall time, then the raw writes' (ms). */
async function runPair(o: MediaBenchOptions, files: Buffer[], label: string): Promise<{ pathMs: number; rawMs: number }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wacloud-bench-media-'));
  const internalKey = 'bench-media-internal-key';
  const config = loadInstanceConfig({
    PORT: '0',
    INTERNAL_PORT: '0',
    HOST: '127.0.0.1',
    MONGODB_URI: o.mongo.dbUri(uniqueDbName('benchmedia')),
    INTERNAL_API_KEY: internalKey,
    DATA_DIR: dataDir,
    AUTO_START: 'false',
    SEND_RATE_PER_S: '0',
    SEND_CHAT_GAP_MS: '0',
    MEDIA_DOWNLOAD: 'false',
    LOG_LEVEL: 'silent',
  });
  const app = await startInstanceApp(config, pino({ level: 'silent' }), new InstantMediaEngine());
  try {
    const created = await fetch(`${app.internalUrl}/internal/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', permissions: 'w' }),
    });
    const { token } = (await created.json()) as { token: string };
    const startedAt = Date.now();
    await pool(o.files, o.concurrency, async (i) => {
      const form = new FormData();
      form.append('to', `1555${String(i % 50).padStart(7, '0')}`);
      form.append('type', 'image');
      form.append('file', new Blob([new Uint8Array(files[i]!)], { type: 'image/jpeg' }), `bench-${i}.jpg`);
      const res = await fetch(`${app.publicUrl}/v1/messages/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    o.log(`media ${label}: ${o.files} queued; waiting until sent`);
    while ((await app.store.col.outgoing.countDocuments({ status: 'sent' })) < o.files) await sleep(100);
    const docs = await app.store.col.outgoing.find({}, { projection: { sentAt: 1 } }).toArray();
    const pathMs = Math.max(...docs.map((d) => d.sentAt!.getTime())) - startedAt;

    o.log(`media ${label}: raw GridFS writes of the same bytes`);
    const bucket = new GridFSBucket(app.store.connection.db!, { bucketName: 'bench_raw' });
    const t0 = performance.now();
    await pool(o.files, o.concurrency, async (i) => {
      await new Promise<void>((resolve, reject) => {
        const up = bucket.openUploadStream(`raw-${i}.jpg`, { metadata: { mimetype: 'image/jpeg' } });
        up.once('error', reject).once('finish', () => resolve());
        up.end(files[i]);
      });
    });
    return { pathMs, rawMs: performance.now() - t0 };
  } finally {
    await app.store.connection.dropDatabase().catch(() => {});
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
