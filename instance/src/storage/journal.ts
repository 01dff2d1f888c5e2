/**
 * The inbound journal: an append-only file on the session volume (`<DATA_DIR>/inbound-journal.log`) where every
 * message the engine reports is written *before* it enters the persister's in-memory batch, a live event or a webhook.
 * A crash (kill -9, OOM kill, a lost node) between the device's receipt and the batch write therefore loses nothing:
 * the next start replays the journal into MongoDB, idempotently (message ids are unique `_id`s, webhook event ids are
 * stable per message), so each message is stored exactly once.
 *
 * Format: one entry per line, `<crc32 as 8 hex digits> <EJSON of {seq, doc}>\n`. A line whose checksum or JSON does not
 * match (a torn write at a crash, a damaged block) is skipped with a warning, never fatal; the file is then rewritten
 * without it so later appends start on a clean line.
 *
 * Durability (`JOURNAL_SYNC`):
 * - `write` (default): each entry is handed to the kernel with write(2) before the engine goes on. It survives the
 *   death of the process (kill -9, OOM kill, a crashed container) because the page cache outlives it; it does not
 *   survive a kernel crash or a power loss of the machine before the kernel writes the page back (seconds).
 * - `fsync`: each entry is also flushed to the device with fdatasync(2) before the engine goes on: it survives a
 *   power loss too, at the cost of one device flush per message (see `npm run bench -w instance -- journal`).
 *
 * Size: entries are released with {@link Journal.committed} once their batch is in MongoDB. When nothing is left
 * uncommitted the file is truncated to zero; when it grows past `maxBytes` with entries still uncommitted it is
 * compacted (the uncommitted entries rewritten to a temporary file, synced, renamed over it). Uncommitted entries are
 * never dropped, so while MongoDB is unreachable the file may stay above `maxBytes` (a warning, the
 * `wacloud_journal_bytes` metric).
 */
import './lazy-driver-deps.js'; // before the driver: its dependencies' tables load at first use
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { BSON } from 'mongodb';

const { EJSON } = BSON;
import type { Logger } from 'pino';
import type { MessageDoc } from './store.js';

export type JournalSync = 'write' | 'fsync';

/** One replayable entry: a message with the sequence number it was appended under. */
export interface JournalEntry {
  /** Sequence number, unique within the file's life (it continues after a restart). */
  seq: number;
  doc: MessageDoc;
}

/** Gauges the journal keeps current (optional). */
export interface JournalMetrics {
  /** File size, bytes. */
  bytes(value: number): void;
  /** Entries not yet committed to MongoDB. */
  entries(value: number): void;
}

export interface JournalOptions {
  /** Path of the journal file (see {@link journalFilePath}). */
  file: string;
  /** Durability of an append; see the module comment. */
  sync: JournalSync;
  /** Compaction threshold, bytes (at least 1). */
  maxBytes: number;
  logger: Logger;
  metrics?: JournalMetrics | undefined;
}

/** What {@link Journal.open} found in the file left by the previous run. */
export interface JournalRecovery {
  /** The entries to replay, in append order. */
  entries: JournalEntry[];
  /** Lines skipped because their checksum or JSON did not match (torn or damaged). */
  skipped: number;
}

export class Journal {
  #fd: number;
  #size: number;
  #nextSeq: number;
  /** Sequence numbers appended and not yet committed. */
  readonly #uncommitted = new Set<number>();
  #overLogged = false;
  #closed = false;

  private constructor(
    private readonly opts: JournalOptions,
    entries: JournalEntry[],
  ) {
    this.#fd = openSync(opts.file, 'a');
    this.#size = fstatSync(this.#fd).size;
    this.#nextSeq = 1;
    for (const e of entries) {
      this.#uncommitted.add(e.seq);
      this.#nextSeq = Math.max(this.#nextSeq, e.seq + 1);
    }
    this.#report();
  }

  /**
   * Opens (creating when absent) the journal at `opts.file` and reads what the previous run left: every valid entry,
   * still uncommitted, to be replayed by the caller. Torn or damaged lines are skipped with a warning and the file is
   * rewritten without them.
   * @throws RangeError when `maxBytes` is not a positive integer; the file system's error when the file cannot be
   *   read or written.
   */
  static open(opts: JournalOptions): { journal: Journal; recovery: JournalRecovery } {
    if (!Number.isInteger(opts.maxBytes) || opts.maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
    const recovery = readEntries(opts.file);
    if (recovery.skipped > 0) {
      opts.logger.warn(
        { file: opts.file, skipped: recovery.skipped, kept: recovery.entries.length },
        'journal: skipped torn or damaged lines (a crash during a write); the rest is replayed',
      );
      rewrite(opts.file, recovery.entries.map(encode), opts.sync === 'fsync');
    } else if (recovery.entries.length > 0) {
      opts.logger.warn({ file: opts.file, entries: recovery.entries.length }, 'journal: replaying messages left by the previous run');
    }
    return { journal: new Journal(opts, recovery.entries), recovery };
  }

  /**
   * Appends message `doc` and returns its sequence number once the entry is durable as `sync` promises (written, or
   * written and flushed). Synchronous on purpose: the engine must not confirm or announce the message before.
   * @throws Error when the journal is closed; the file system's error (disk full: the caller must not go on as if
   *   the message were safe).
   */
  append(doc: MessageDoc): number {
    if (this.#closed) throw new Error('journal is closed');
    const seq = this.#nextSeq++;
    const line = Buffer.from(encode({ seq, doc }), 'utf8');
    let off = 0;
    while (off < line.length) off += writeSync(this.#fd, line, off);
    if (this.opts.sync === 'fsync') fdatasyncSync(this.#fd);
    this.#size += line.length;
    this.#uncommitted.add(seq);
    this.#report();
    return seq;
  }

  /**
   * Releases entries whose messages are now in MongoDB. Unknown numbers (entries of a file already truncated) are
   * ignored. Truncates the file when nothing is left, compacts it when it is over `maxBytes`.
   */
  committed(seqs: Iterable<number>): void {
    if (this.#closed) return;
    let released = 0;
    for (const s of seqs) if (this.#uncommitted.delete(s)) released++;
    if (released === 0) return;
    try {
      if (this.#uncommitted.size === 0) {
        if (this.#size > 0) {
          ftruncateSync(this.#fd, 0);
          this.#size = 0;
        }
        this.#overLogged = false;
      } else if (this.#size > this.opts.maxBytes) {
        this.#compact();
      }
    } catch (err) {
      // The entries stay in the file: the next start replays them (idempotent); nothing is lost.
      this.opts.logger.warn({ err, file: this.opts.file }, 'journal: truncation or compaction failed; will retry');
    }
    this.#report();
  }

  /** Entries not yet committed. */
  pending(): number {
    return this.#uncommitted.size;
  }

  /** Current file size, bytes. */
  bytes(): number {
    return this.#size;
  }

  /** Closes the file (uncommitted entries stay in it for the next start). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  /** Rewrites the file with the uncommitted entries only (temporary file, synced, renamed over it). */
  #compact(): void {
    const kept = readEntries(this.opts.file).entries.filter((e) => this.#uncommitted.has(e.seq));
    const lines = kept.map(encode);
    rewrite(this.opts.file, lines, true);
    closeSync(this.#fd);
    this.#fd = openSync(this.opts.file, 'a');
    this.#size = fstatSync(this.#fd).size;
    if (this.#size > this.opts.maxBytes && !this.#overLogged) {
      this.#overLogged = true;
      this.opts.logger.warn(
        { file: this.opts.file, bytes: this.#size, maxBytes: this.opts.maxBytes, entries: this.#uncommitted.size },
        'journal over its bound: its messages are not in the database yet (kept until they are)',
      );
    }
  }

  #report(): void {
    this.opts.metrics?.bytes(this.#size);
    this.opts.metrics?.entries(this.#uncommitted.size);
  }
}

/** `<crc32 hex> <EJSON>\n` of an entry. */
function encode(entry: JournalEntry): string {
  const json = EJSON.stringify({ seq: entry.seq, doc: entry.doc }, { relaxed: false });
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Decodes one line; undefined when its checksum, JSON or shape does not match. */
function decode(line: string): JournalEntry | undefined {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (crc32(json).toString(16).padStart(8, '0') !== line.slice(0, 8)) return undefined;
  try {
    const e = EJSON.parse(json, { relaxed: true }) as Partial<JournalEntry>;
    if (!Number.isInteger(e.seq) || typeof e.doc?._id !== 'string') return undefined;
    return e as JournalEntry;
  } catch {
    return undefined;
  }
}

/** Every valid entry of `file` (none when it does not exist) and the number of lines skipped. */
function readEntries(file: string): JournalRecovery {
  if (!existsSync(file)) return { entries: [], skipped: 0 };
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // A last piece without its newline is a torn write: counted as skipped when it is not empty.
  const tail = lines.pop() ?? '';
  const entries: JournalEntry[] = [];
  let skipped = tail.length > 0 ? 1 : 0;
  for (const line of lines) {
    if (line.length === 0) continue;
    const e = decode(line);
    if (e) entries.push(e);
    else skipped++;
  }
  return { entries, skipped };
}

/** Replaces `file` with `lines` through `<file>.tmp` (synced when `sync`), so a crash leaves the old or the new file. */
function rewrite(file: string, lines: string[], sync: boolean): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const l of lines) writeSync(fd, l);
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** The journal file inside the data directory. */
export function journalFilePath(dataDir: string): string {
  return path.join(dataDir, 'inbound-journal.log');
}
