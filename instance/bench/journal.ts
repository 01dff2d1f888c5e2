/**
 * Journal benchmark: the cost the inbound journal adds to each received message, per durability mode.
 *
 * For each mode (`write`: write(2) per message, survives the process's death; `fsync`: write(2) + fdatasync(2) per
 * message, survives a power loss) N appends of real message records (`toMessageDoc` of fixture messages) are timed one
 * by one into a fresh journal file, then released (`committed`, which truncates the file). The baseline is the
 * encoding alone (EJSON + CRC-32 of the same entry, no system call), so `write − encode` is the system call's share.
 *
 * The file lives in `--dir` / BENCH_JOURNAL_DIR (default: `bench/.journal` inside the instance workspace, i.e. on the
 * same file system as the repository, as DATA_DIR is on a volume; /tmp is often a tmpfs where fdatasync costs nothing).
 */
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { BSON } from 'mongodb';

const { EJSON } = BSON;
import { pino } from 'pino';
import { Journal, journalFilePath, type JournalSync } from '@wacloud/instance/storage/journal';
import { toMessageDoc } from '@wacloud/instance/storage/messages';
import type { MessageDoc } from '@wacloud/instance/storage/store';
import { makeMessages } from './fixtures.js';
import { median, percentile } from './stats.js';

export interface JournalBenchOptions {
  /** Appends per mode. */
  appends: number;
  /** Directory the journal files are created in. */
  dir: string;
  log: (line: string) => void;
}

/** Latencies of one mode, µs per message. */
export interface JournalSide {
  mode: JournalSync | 'encode only';
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** Messages per second at the mean latency, one at a time. */
  perSec: number;
}

export interface JournalResult {
  appends: number;
  dir: string;
  /** File system type of `dir` (statfs magic, hex), e.g. 0xef53 ext4/ext3, 0x01021994 tmpfs, 0x794c7630 overlayfs. */
  fsType: string;
  /** Mean bytes per entry. */
  entryBytes: number;
  sides: JournalSide[];
}

function side(mode: JournalSide['mode'], samplesUs: number[]): JournalSide {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const meanUs = samplesUs.reduce((a, b) => a + b, 0) / samplesUs.length;
  return { mode, p50Us: median(sorted), p99Us: percentile(sorted, 99), meanUs, perSec: 1e6 / meanUs };
}

/** Runs the journal benchmark; see the module comment. */
export async function runJournal(o: JournalBenchOptions): Promise<JournalResult> {
  mkdirSync(o.dir, { recursive: true });
  const docs: MessageDoc[] = makeMessages({ count: o.appends, keyPrefix: 'J' }).messages.map((m) => toMessageDoc(m));
  const logger = pino({ level: 'silent' });
  const sides: JournalSide[] = [];
  let bytes = 0;

  // Two passes: the first warms the JIT up and is not kept.
  let encode: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    encode = [];
    bytes = 0;
    for (const [i, doc] of docs.entries()) {
      const t0 = performance.now();
      const json = EJSON.stringify({ seq: i + 1, doc }, { relaxed: false });
      const line = `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
      encode.push((performance.now() - t0) * 1000);
      bytes += Buffer.byteLength(line);
    }
  }
  sides.push(side('encode only', encode));

  for (const mode of ['write', 'fsync'] as const) {
    o.log(`journal: ${o.appends} appends, ${mode}`);
    const dir = mkdtempSync(path.join(o.dir, `${mode}-`));
    const { journal } = Journal.open({ file: journalFilePath(dir), sync: mode, maxBytes: 1 << 30, logger });
    const samples: number[] = [];
    const seqs: number[] = [];
    for (const doc of docs) {
      const t0 = performance.now();
      seqs.push(journal.append(doc));
      samples.push((performance.now() - t0) * 1000);
    }
    journal.committed(seqs);
    journal.close();
    rmSync(dir, { recursive: true, force: true });
    sides.push(side(mode, samples));
  }
  return { appends: o.appends, dir: o.dir, fsType: `0x${statfsSync(o.dir).type.toString(16)}`, entryBytes: bytes / docs.length, sides };
}
