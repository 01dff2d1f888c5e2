/**
 * Recording delivery outcomes in the outbox in batches (the webhook dispatcher's marks). On FerretDB v1 every
 * statement costs a round trip through FerretDB and PostgreSQL, so one write per delivery bounded a burst's fan-out;
 * outcomes are therefore written together:
 * - a delivered record (the delivery log: status, HTTP answer, latency, address) is replaced: one `deleteMany` of the
 *   chunk's records, then one `insertMany` of them with their outcome (FerretDB on PostgreSQL updates a document with
 *   a query and an UPDATE statement of its own, several times what deleting and inserting it in bulk costs). A crash
 *   between the two loses those log records only (the events were delivered), and a replayed event stored in that
 *   instant is kept pending (delivered again: at least once);
 * - a record delivered to the api outbox (no log kept) is only deleted;
 * - deletions select the chunk's records by `status` and the range of their `nextAttemptAt` (the claim index, which
 *   FerretDB pushes down to PostgreSQL) with `_id: {$in}` applied on top (a stock FerretDB does not push `$in` down
 *   and would read the whole collection; wacloud's build does: docs/embedded-database.md), {@link DELETE_CHUNK} at a time;
 * - an event delivered before it was stored (`unstored`: of an inbound message, see the dispatcher) is inserted once
 *   with its outcome — nothing to delete — or, delivered to the api outbox, not written at all; rescheduled or failed,
 *   it is inserted with its outcome too, then updated like the others below (a record stored meanwhile is kept, and
 *   updated);
 * - a rescheduled or failed record (rare; its record must never be missing) → `bulkWrite` of `updateOne({_id})`
 *   statements, {@link BULK_CHUNK} per command (a stock FerretDB on PostgreSQL never answers an update command with 50
 *   statements matching existing documents).
 * A failed write is retried (100 ms → 5 s) with the same outcomes; the records stay claimed in memory meanwhile, so
 * they are not attempted again. Outcomes not written when the process ends are lost, not the events: those are still
 * `pending` and delivered again by the next start (at least once).
 */
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import { BULK_CHUNK, insertIgnoringDuplicates } from '../storage/bulk.js';
import type { OutboxDoc } from '../storage/store.js';

/** Records deleted (and inserted again) per command. */
const DELETE_CHUNK = 250;
/** Outcomes written per round (the rest wait for the next one). */
const ROUND = 200;
/** Longest a retry's or a failure's outcome waits for others before a write starts, ms (its next attempt waits). */
const FLUSH_DELAY_MS = 20;
/** Longest a delivery's outcome waits for others, ms: fewer, larger writes while a burst is delivered. */
const GATHER_MS = 200;

/** One attempt's outcome for its record: fields to set, or its deletion. */
export interface Mark {
  /** The record as claimed (its `_id`; its `nextAttemptAt` selects it for a deletion). */
  doc: OutboxDoc;
  /** Delete the record (delivered, no delivery log kept). */
  remove?: boolean;
  /** Fields to `$set` (unless removed). */
  set?: Record<string, unknown>;
  /** Store `set` by replacing the record (delivered: see the module's notes), not by an update. */
  replace?: boolean;
  /** The event has no record yet (handed over unstored): inserted, never deleted. */
  unstored?: boolean;
}

export class MarkWriter {
  private pending: Mark[] = [];
  private running: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires, epoch ms. */
  private timerAt = 0;
  /** The shortest wait asked for while a write ran, ms. */
  private nextMs = Infinity;
  private retryMs = 0;
  private closed = false;

  /**
   * @param outbox the collection the records are in
   * @param written called with the ids whose outcome is now stored
   */
  constructor(
    private readonly outbox: mongoose.mongo.Collection<OutboxDoc>,
    private readonly logger: Logger,
    private readonly written: (ids: string[]) => void,
  ) {}

  /** Takes the timer's turns again (after {@link close}: the dispatcher started again). */
  open(): void {
    this.closed = false;
    if (this.pending.length) this.kick(0);
  }

  /** Queues `mark`; it is written within {@link GATHER_MS} ({@link FLUSH_DELAY_MS} for a retry or a failure). */
  add(mark: Mark): void {
    this.pending.push(mark);
    if (this.closed) return;
    this.kick(this.pending.length >= ROUND ? 0 : mark.remove || mark.replace ? GATHER_MS : FLUSH_DELAY_MS);
  }

  private kick(ms: number): void {
    if (this.running) {
      this.nextMs = Math.min(this.nextMs, ms);
      return;
    }
    const at = Date.now() + ms;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        const next = this.pending.length >= ROUND ? 0 : this.nextMs;
        this.nextMs = Infinity;
        if (this.pending.length && !this.closed) this.kick(this.retryMs || (Number.isFinite(next) ? next : GATHER_MS));
      });
    }, ms);
  }

  /** Writes up to {@link ROUND} outcomes. Resolves false when the write failed (logged; they stay queued). */
  private async round(): Promise<boolean> {
    const round = this.pending.slice(0, ROUND);
    if (!round.length) return true;
    try {
      await this.write(round);
    } catch (err) {
      this.retryMs = Math.min(5_000, Math.max(100, this.retryMs * 2));
      this.logger.warn(
        { err: (err as Error).message, pending: this.pending.length, retryInMs: this.retryMs },
        'webhook outcomes not stored; will retry',
      );
      return false;
    }
    this.retryMs = 0;
    this.pending.splice(0, round.length);
    this.written(round.map((m) => m.doc._id));
    return true;
  }

  /**
   * Writes what is queued now (one try after the one running, if any) and stops taking the timer's turns.
   * Resolves when done or when the write failed (then logged: those events stay pending, delivered again later).
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    while (this.pending.length && (await this.round()));
    if (this.pending.length)
      this.logger.warn({ events: this.pending.length }, 'webhook outcomes not stored at shutdown; those events will be delivered again');
  }

  private async write(marks: Mark[]): Promise<void> {
    const fresh = marks.filter((m) => m.unstored && !m.remove).map((m) => ({ ...m.doc, ...m.set }) as OutboxDoc);
    for (let i = 0; i < fresh.length; i += DELETE_CHUNK) await insertKeepingExisting(this.outbox, fresh.slice(i, i + DELETE_CHUNK));
    const removed = marks.filter((m) => !m.unstored && (m.remove || m.replace));
    const updated = marks.filter((m) => !m.remove && !m.replace && m.set);
    for (let i = 0; i < removed.length; i += DELETE_CHUNK) {
      const chunk = removed.slice(i, i + DELETE_CHUNK);
      await this.outbox.deleteMany(selectClaimed(chunk));
      const replaced = chunk.filter((m) => m.replace).map((m) => ({ ...m.doc, ...m.set }) as OutboxDoc);
      if (replaced.length) await insertKeepingExisting(this.outbox, replaced);
    }
    for (let i = 0; i < updated.length; i += BULK_CHUNK) {
      const ops = updated
        .slice(i, i + BULK_CHUNK)
        .map((m) => ({ updateOne: { filter: { _id: m.doc._id }, update: { $set: m.set ?? {} } } }));
      await this.outbox.bulkWrite(ops, { ordered: false });
    }
  }
}

/** insertMany(ordered: false); a record already there (its `_id`: stored again meanwhile) is kept. */
async function insertKeepingExisting(outbox: mongoose.mongo.Collection<OutboxDoc>, docs: OutboxDoc[]): Promise<void> {
  await insertIgnoringDuplicates(outbox, docs);
}

/**
 * A filter selecting exactly `marks`' pending records in a way FerretDB on PostgreSQL serves from the
 * `(status, nextAttemptAt)` index: the status and the range of their `nextAttemptAt` are pushed down, `_id: {$in}` is
 * applied to the few rows in that range.
 */
export function selectClaimed(marks: Mark[]): mongoose.mongo.Filter<OutboxDoc> {
  let min = Infinity;
  let max = -Infinity;
  for (const m of marks) {
    const t = new Date(m.doc.nextAttemptAt).getTime();
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return { status: 'pending', nextAttemptAt: { $gte: new Date(min), $lte: new Date(max) }, _id: { $in: marks.map((m) => m.doc._id) } };
}
