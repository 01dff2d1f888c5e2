/**
 * Background persistence: every message, ack change, contact, chat and webhook event the engine produces
 * is queued here and written to MongoDB in batches, without blocking the engine.
 *
 * Nothing is dropped:
 * - a failed batch stays queued and is retried with exponential backoff (100 ms → 5 s);
 * - the in-memory queue holds at most `bufferLimit` operations; past that, operations are appended to a spill file
 *   in DATA_DIR (EJSON lines) and read back in order once the database catches up (metric
 *   `wacloud_persist_overflow_total` and one warning per overflow episode);
 * - every write is idempotent (insert-or-ignore by `_id`, `$max` for acks, upserts for contacts and chats), so a
 *   retried or replayed batch never duplicates;
 * - the spill file is truncated only after the operations read back from it were written;
 * - at shutdown, whatever the database did not take within the flush timeout is written to the spill file (memory
 *   first, then the file's unread lines, through a temporary file renamed over it) and replayed by the next start;
 *   operations queued after the close go straight to the spill file.
 * Order: within a batch, messages are written before acks, contacts and chats, and webhook events last, so a receiver
 * that reacts to an event finds the message already stored.
 */
import './lazy-driver-deps.js'; // before the driver: its dependencies' tables load at first use
import {
  closeSync,
  existsSync,
  openSync,
  readSync,
  statSync,
  appendFileSync,
  truncateSync,
  fstatSync,
  writeSync,
  fsyncSync,
  renameSync,
} from 'node:fs';
import path from 'node:path';
import { BSON } from 'mongodb';
import type { Logger } from 'pino';
import type { Ack } from '../engines/engine.js';
import type { Metrics } from '../metrics.js';
import type { ChatDoc, ContactDoc, MessageDoc, OutboxDoc, Store } from './store.js';
import { bulkWriteChunked, insertIgnoringDuplicates, insertNew } from './bulk.js';
import { JournalHolds, JournalPins, type EventTarget } from './journal-holds.js';
import { withoutNul } from './nul.js';
import { countLines, readTail } from './spill-lines.js';
import { withoutUndefined } from './without-undefined.js';

const { EJSON } = BSON;

export type PersistOp =
  /** `journalSeq`: the message's inbound-journal entry, released once the message is in MongoDB. */
  | { kind: 'message'; doc: MessageDoc; journalSeq?: number | undefined }
  | { kind: 'ack'; id: string; ack: Ack }
  | { kind: 'contact'; doc: ContactDoc }
  | { kind: 'chat'; doc: ChatDoc }
  | {
      kind: 'event';
      doc: OutboxDoc;
      /** `api`: the platform's subscription (`api_outbox`) */
      target?: 'api';
      /** The journal entry of the message the event is of (an inbound message): it may be delivered before it is stored. */
      journalSeq?: number | undefined;
    };

export interface PersisterOptions {
  store: Store;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Operations per batch write. */
  batchSize: number;
  /** Operations per batch while this many wait (a burst: fewer, larger writes). Default 4 × `batchSize`, never less. */
  burstBatchSize?: number | undefined;
  /** Longest an operation waits before a flush starts, ms. */
  flushMs: number;
  /** In-memory bound in operations; beyond it operations spill to `spillFile`. */
  bufferLimit: number;
  /** Spill file path (in DATA_DIR so it survives restarts). */
  spillFile: string;
  /**
   * Hands events of journaled messages written in the same batch to the dispatchers without storing them, once the
   * batch's messages are written; returns those taken (each is stored later, once, with its outcome: the dispatcher
   * calls {@link Persister.eventsRecorded}; its message's journal entry is held until then, `journal-holds.ts`). Those
   * not taken are stored as pending records. None: every event is stored first.
   */
  deferEvents?: ((target: EventTarget, docs: OutboxDoc[]) => OutboxDoc[]) | undefined;
  /** Called after events were stored, with the records newly stored per outbox (the dispatchers take them). */
  onEventsStored?: ((stored: { events: OutboxDoc[]; apiEvents: OutboxDoc[] }) => void) | undefined;
  /**
   * Called with the journal sequence numbers of the messages of each batch once it is written to MongoDB, and of those
   * with events delivered before they were stored once those are stored too (the inbound journal releases them). Never
   * called for operations only kept in the spill file.
   */
  onJournaledStored?: ((seqs: number[]) => void) | undefined;
}

export class Persister {
  private queue: PersistOp[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private retryDelayMs = 0;
  private spillPending = 0;
  private spillOffset = 0;
  private overflowing = false;
  /** Operations at the head of the queue up to the last one read back from the spill file (not yet written). */
  private unspilledInQueue = 0;
  private closed = false;
  private closing: Promise<number> | undefined;
  private lateLogged = false;
  private idleWaiters: Array<() => void> = [];
  private beforeCloseHooks: Array<() => void> = [];
  /** Journal entries held for events delivered before they were stored, or pinned by {@link holdJournal}. */
  private readonly holds: JournalHolds;
  private readonly pins: JournalPins;

  /** @throws RangeError when a size is not a positive integer. */
  constructor(private readonly opts: PersisterOptions) {
    for (const k of ['batchSize', 'bufferLimit'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new RangeError(`${k} must be a positive integer`);
    }
    this.holds = new JournalHolds((seqs) => {
      try {
        opts.onJournaledStored?.(seqs);
      } catch (err) {
        opts.logger.warn({ err }, 'persistence: releasing journal entries failed');
      }
    });
    if (existsSync(opts.spillFile) && statSync(opts.spillFile).size > 0) {
      this.spillPending = countLines(opts.spillFile);
      opts.logger.warn(
        { spillFile: opts.spillFile, operations: this.spillPending },
        'persistence: replaying spill file left by a previous run',
      );
      this.schedule(0);
    }
    this.pins = new JournalPins(this.holds, this.spillPending); // the previous run's operations are written first
  }

  /**
   * Events `ids` of `target` handed over by {@link PersisterOptions.deferEvents} now have a record (their outcome, or a
   * pending one): their messages' journal entries are released once nothing else holds them.
   */
  eventsRecorded(target: EventTarget, ids: readonly string[]): void {
    this.holds.recorded(target, ids);
  }

  /**
   * Holds journal entry `seq` (an inbound message's) past the write of its message's batch, until the returned function
   * is called and every operation queued before that call is written: the message's webhook events are queued after an
   * await (the webhook settings, read from MongoDB on a cache miss), so they may miss their message's batch, and the
   * entry must outlive them (a crash in between would lose them; `journal-holds.ts`). Entries still held at
   * {@link close} stay in the journal (replayed at the next start). A second call of the function does nothing.
   */
  holdJournal(seq: number): () => void {
    return this.pins.hold(seq);
  }

  /** Events of `target` handed over by {@link PersisterOptions.deferEvents} whose record is not stored yet. */
  unstoredEvents(target: EventTarget): number {
    return this.holds.held(target);
  }

  /** Number of operations not yet written (memory and spill file). */
  pending(): number {
    return this.queue.length + this.spillPending;
  }

  /**
   * Registers `hook` to run at the start of {@link close}, before the final flush: producers that coalesce operations
   * (chat touches) queue their last ones and stop their timers there.
   */
  beforeClose(hook: () => void): void {
    this.beforeCloseHooks.push(hook);
  }

  /** Queues one operation; returns at once. After {@link close} the operation goes to the spill file (next start). */
  enqueue(op: PersistOp): void {
    if (this.closed) {
      appendFileSync(this.opts.spillFile, EJSON.stringify(op, { relaxed: false }) + '\n');
      if (!this.lateLogged)
        this.opts.logger.warn(
          { kind: op.kind, spillFile: this.opts.spillFile },
          'persistence: operations after close are kept in the spill file for the next start',
        );
      this.lateLogged = true;
      return;
    }
    if (this.spillPending > 0 || this.queue.length >= this.opts.bufferLimit) {
      this.spill(op);
    } else {
      this.queue.push(op);
    }
    this.pins.enqueued();
    this.opts.metrics?.persistBuffered.set(this.pending());
    if (this.queue.length >= this.opts.batchSize) this.schedule(0);
    else this.schedule(this.opts.flushMs);
  }

  /** Resolves once everything queued so far is written (waits through retries); at once after {@link close}. */
  async flush(): Promise<void> {
    if (this.closed || (this.pending() === 0 && !this.running)) return;
    this.schedule(0);
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs the {@link beforeClose} hooks, flushes for up to `timeoutMs` (ms; default: as long as it takes), then stops.
   * What the database did not take by then is written to the spill file and replayed by the next start; later
   * operations are appended there too. Never throws: a hook's error and a failed spill write are logged.
   * @returns the number of operations left in the spill file (0 when everything was written).
   */
  close(timeoutMs?: number): Promise<number> {
    return (this.closing ??= this.closeOnce(timeoutMs));
  }

  private async closeOnce(timeoutMs: number | undefined): Promise<number> {
    for (const hook of this.beforeCloseHooks.splice(0)) {
      try {
        hook();
      } catch (err) {
        this.opts.logger.error({ err }, 'persistence: a before-close hook failed');
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.flush().then(() => true),
      new Promise<boolean>((resolve) => (timer = timeoutMs === undefined ? undefined : setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (flushed && this.pending() === 0) return 0;
    try {
      const kept = this.spillEverything();
      this.opts.logger.error(
        { pending: kept, spillFile: this.opts.spillFile },
        'persistence not flushed before exit; kept in the spill file',
      );
      return kept;
    } catch (err) {
      this.opts.logger.error(
        { err, pending: this.pending() },
        'persistence not flushed before exit and the spill file could not be written: operations lost',
      );
      return 0;
    } finally {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Rewrites the spill file as the in-memory queue followed by the file's unread lines: written to `<file>.tmp`,
   * synced, then renamed over the file, so a crash leaves either the old file or the complete new one.
   * @returns the number of operations in the file. @throws the file system's error.
   */
  private spillEverything(): number {
    const file = this.opts.spillFile;
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    let n = 0;
    try {
      for (const op of this.queue) {
        writeSync(fd, EJSON.stringify(op, { relaxed: false }) + '\n');
        n++;
      }
      if (this.spillPending > 0) {
        const rest = readTail(file, this.spillOffset);
        writeSync(fd, rest);
        n += this.spillPending;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    this.queue = [];
    this.unspilledInQueue = 0;
    this.spillOffset = 0;
    this.spillPending = n;
    return n;
  }

  private spill(op: PersistOp): void {
    if (!this.overflowing) {
      this.overflowing = true;
      this.opts.logger.warn(
        { bufferLimit: this.opts.bufferLimit, spillFile: this.opts.spillFile },
        'persistence buffer full: spilling to disk until the database catches up',
      );
    }
    appendFileSync(this.opts.spillFile, EJSON.stringify(op, { relaxed: false }) + '\n');
    this.spillPending++;
    this.opts.metrics?.persistOverflow.inc();
  }

  /** Moves spilled operations back into memory, in order, while there is room. */
  private unspill(): void {
    if (this.spillPending === 0) return;
    const room = Math.max(0, this.opts.bufferLimit - this.queue.length);
    if (room === 0) return;
    const fd = openSync(this.opts.spillFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const chunk = Buffer.alloc(Math.min(size - this.spillOffset, 8 * 1024 * 1024));
      const n = readSync(fd, chunk, 0, chunk.length, this.spillOffset);
      let start = 0;
      let taken = 0;
      while (taken < room) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0 || nl >= n) break;
        const line = chunk.subarray(start, nl).toString('utf8');
        start = nl + 1;
        if (line.trim()) {
          this.queue.push(EJSON.parse(line, { relaxed: false }) as PersistOp);
          taken++;
        }
      }
      this.spillOffset += start;
      this.spillPending = Math.max(0, this.spillPending - taken);
      if (taken > 0) this.unspilledInQueue = this.queue.length;
      if (this.spillOffset >= size) this.spillPending = 0;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * After a batch of `written` operations was stored: once every line of the spill file has been read back and
   * written, the file is emptied (never before, so a crash meanwhile replays rather than loses them).
   */
  private afterWrite(written: number): void {
    if (this.unspilledInQueue === 0 && this.spillOffset === 0) return;
    this.unspilledInQueue = Math.max(0, this.unspilledInQueue - written);
    if (this.unspilledInQueue > 0 || this.spillPending > 0) return;
    truncateSync(this.opts.spillFile, 0);
    this.spillOffset = 0;
    this.overflowing = false;
    this.opts.logger.info('persistence: spill file drained');
  }

  /** Releases the journal entries of a written batch's messages (those holding events later, {@link JournalHolds}). */
  private releaseJournaled(batch: PersistOp[]): void {
    const seqs: number[] = [];
    for (const op of batch) if (op.kind === 'message' && op.journalSeq !== undefined) seqs.push(op.journalSeq);
    if (seqs.length) this.holds.written(seqs);
  }

  /**
   * Of `ops` (one outbox's events of a batch whose messages are written), those to store now: the others were taken by
   * {@link PersisterOptions.deferEvents} (events of journaled messages of this batch), their entries held, or are held
   * already (a batch written again, an event queued twice): each of those gets its record from the dispatcher.
   */
  private toStore(target: EventTarget, ops: Extract<PersistOp, { kind: 'event' }>[], journaled: Set<number>): OutboxDoc[] {
    const docs = ops.map((o) => stripUndefined(o.doc));
    const defer = this.opts.deferEvents;
    const seqs = new Map<string, number>();
    for (const o of ops) if (o.journalSeq !== undefined && journaled.has(o.journalSeq)) seqs.set(o.doc._id, o.journalSeq);
    if (!defer || seqs.size === 0) return docs;
    const fresh = new Map<string, OutboxDoc>(); // each event once
    for (const d of docs) if (seqs.has(d._id) && !this.holds.has(target, d._id) && !fresh.has(d._id)) fresh.set(d._id, d);
    for (const d of defer(target, [...fresh.values()])) this.holds.hold(target, d._id, seqs.get(d._id)!);
    return docs.filter((d) => !this.holds.has(target, d._id));
  }

  private schedule(delayMs: number): void {
    if (this.running) return; // the running loop picks the queue up
    if (this.timer) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.running = this.drain().finally(() => {
          this.running = undefined;
          if (this.closed) return;
          if (this.pending() > 0) this.schedule(this.retryDelayMs || 0);
          else for (const w of this.idleWaiters.splice(0)) w();
        });
      },
      Math.max(delayMs, this.retryDelayMs),
    );
    this.timer.unref?.();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length < this.opts.batchSize) this.unspill();
      if (this.queue.length === 0) return;
      const burst = Math.max(this.opts.batchSize, this.opts.burstBatchSize ?? 4 * this.opts.batchSize);
      const batch = this.queue.slice(0, this.queue.length >= burst ? burst : this.opts.batchSize);
      try {
        await this.write(batch);
        if (this.closed) return; // the close spilled the queue meanwhile (the writes are idempotent)
        this.queue.splice(0, batch.length);
        this.afterWrite(batch.length);
        this.releaseJournaled(batch);
        this.pins.written(batch.length);
        this.retryDelayMs = 0;
        this.opts.metrics?.persistBatches.inc({ result: 'ok' });
        this.opts.metrics?.persistBuffered.set(this.pending());
      } catch (err) {
        if (this.closed) return; // the close spilled the queue meanwhile
        this.retryDelayMs = Math.min(5_000, Math.max(100, this.retryDelayMs * 2));
        this.opts.metrics?.persistBatches.inc({ result: 'error' });
        this.opts.logger.warn(
          { err: (err as Error).message, pending: this.pending(), retryInMs: this.retryDelayMs },
          'persistence batch failed; will retry',
        );
        return;
      }
    }
  }

  /** Writes one batch idempotently. Throws on anything but duplicate keys. */
  private async write(batch: PersistOp[]): Promise<void> {
    const { store } = this.opts;
    const messages = new Map<string, MessageDoc>();
    const acks = new Map<string, Ack>();
    const contacts = new Map<string, ContactDoc>();
    const chats = new Map<string, ChatDoc>();
    const events: Extract<PersistOp, { kind: 'event' }>[] = [];
    const apiEvents: Extract<PersistOp, { kind: 'event' }>[] = [];
    const journaled = new Set<number>();
    for (const op of batch) {
      switch (op.kind) {
        case 'message': {
          if (op.journalSeq !== undefined) journaled.add(op.journalSeq);
          const prev = messages.get(op.doc._id);
          messages.set(
            op.doc._id,
            prev ? { ...prev, ...op.doc, ack: Math.max(prev.ack, op.doc.ack) as Ack, sentBy: op.doc.sentBy ?? prev.sentBy } : op.doc,
          );
          break;
        }
        case 'ack': {
          const m = messages.get(op.id);
          if (m) m.ack = Math.max(m.ack, op.ack) as Ack;
          else acks.set(op.id, Math.max(acks.get(op.id) ?? -1, op.ack) as Ack);
          break;
        }
        case 'contact':
          contacts.set(op.doc._id, { ...contacts.get(op.doc._id), ...stripUndefined(op.doc) } as ContactDoc);
          break;
        case 'chat':
          chats.set(op.doc._id, { ...chats.get(op.doc._id), ...stripUndefined(op.doc) } as ChatDoc);
          break;
        case 'event':
          (op.target === 'api' ? apiEvents : events).push(op);
          break;
      }
    }
    if (messages.size) {
      const docs = [...messages.values()].map(stripUndefined);
      const dups = await insertIgnoringDuplicates(store.col.messages, docs);
      // A message seen before: keep its first record, raise its ack, add who sent it if now known.
      if (dups.length) {
        await bulkWriteChunked(
          store.col.messages,
          dups.map((d) => ({
            updateOne: { filter: { _id: d._id }, update: { $max: { ack: d.ack }, ...(d.sentBy ? { $set: { sentBy: d.sentBy } } : {}) } },
          })),
        );
      }
    }
    if (acks.size) {
      await bulkWriteChunked(
        store.col.messages,
        [...acks].map(([id, ack]) => ({ updateOne: { filter: { _id: id }, update: { $max: { ack } } } })),
      );
    }
    if (contacts.size) {
      await bulkWriteChunked(
        store.col.contacts,
        [...contacts.values()].map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $set: rest }, upsert: true } })),
      );
    }
    if (chats.size) {
      await bulkWriteChunked(
        store.col.chats,
        [...chats.values()].map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $set: rest }, upsert: true } })),
      );
    }
    // The two outboxes at once (each after the messages its events refer to); events of this batch's journaled messages
    // may be handed over unstored instead.
    const [tenantDocs, apiDocs] = [this.toStore('tenant', events, journaled), this.toStore('api', apiEvents, journaled)];
    const [tenant, api] = await Promise.all([insertNew(store.col.outbox, tenantDocs), insertNew(store.col.apiOutbox, apiDocs)]);
    if (tenantDocs.length || apiDocs.length) this.opts.onEventsStored?.({ events: tenant, apiEvents: api });
  }
}

/** `o` as stored: undefined fields dropped, NUL in text replaced (`nul.ts`); `o` itself when neither is there. */
function stripUndefined<T extends object>(o: T): T {
  return withoutNul(withoutUndefined(o));
}

/** Default spill file inside the data directory. */
export function spillFilePath(dataDir: string): string {
  return path.join(dataDir, 'persist-spill.ndjson');
}
