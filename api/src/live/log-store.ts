/**
 * The live log in the api database (docs/team.md §2): collection `live_events`, `_id` a gap-free integer.
 * - Append: a unique insert of `max + 1`, where `max` is the highest id this replica knows (its tail's position or its
 *   last append); on a duplicate key another replica took it, so the next one is tried. FerretDB v1 makes only unique
 *   inserts atomic, which is all this needs; an id is never allocated without its record, so there are no gaps. When
 *   the tail has not read the newest id for half the retention (the process was paused, or its reads failed), the
 *   append reads it first: ids above what this replica knows may have been appended and pruned meanwhile, and one of
 *   them taken again would sit behind every other replica's tail, never handed on there.
 * - Tail: every replica reads the log at once after its own appends and every `pollMs` otherwise, and hands each
 *   event, in id order, to its listeners — runs of up to {@link TAIL_BATCH} events per read. A read is one query when
 *   idle or one event behind: the newest record (`sort({_id: -1}).limit(1)`); further behind, one more: the window of
 *   the oldest events after the position, counted from the newest (`sort({_id: -1}).skip(s).limit(n)`). Both walk the
 *   `_id` index from its end on MongoDB and on wacloud's FerretDB on PostgreSQL (which pushes down no numeric `_id`
 *   condition: a range or an equality on a number reads the whole table; on SQLite every such query does).
 * - Gaps: an id that stays missing while later ones exist (a record pruned, lost, or not yet visible while being
 *   written) is waited for — the events after it are held back — and skipped after {@link GAP_SKIP_MS}, with a
 *   warning; a record that shows up later than that is never handed on.
 * - Retention: records older than `retentionMs` are pruned ({@link LiveLogStore.prune}), the newest one always kept so
 *   that ids are never reused after a restart.
 */
import type mongoose from 'mongoose';
import type { Logger } from 'pino';
import type { LiveAudience, LiveEvent, LiveEventInput, LiveLog } from './live-log.js';

/** A stored event. */
export interface LiveEventDoc {
  _id: number;
  type: LiveEvent['type'];
  data: unknown;
  audience: LiveAudience;
  at: Date;
}

/** An event as the tail hands it to listeners: the frame and who may receive it. */
export interface TailedEvent {
  event: LiveEvent;
  audience: LiveAudience;
}

/** How long a missing id is waited for while later ones exist, ms. */
export const GAP_SKIP_MS = 10_000;
/** Most events the tail reads (and hands on) per query. */
export const TAIL_BATCH = 200;
/** Extra records a window read takes below its run, so that records appended between the tail's two reads (which
 * shift positions counted from the newest) still leave the run inside the window; doubled while that is not enough. */
const WINDOW_SLACK = 50;
/** Largest serialised `data`, bytes. */
export const MAX_DATA_BYTES = 64 * 1024;

export const frame = (d: LiveEventDoc): LiveEvent => ({ id: d._id, type: d.type, data: d.data, at: d.at.toISOString() });

export class LiveLogStore implements LiveLog {
  /** The highest id this replica has handed to listeners. */
  #head = 0;
  /** The highest id this replica appended or saw taken. */
  #known = 0;
  readonly #listeners = new Set<(e: TailedEvent) => void>();
  #wake: (() => void) | undefined;
  #stopped = true;
  #loop: Promise<void> | undefined;
  #gapSince: number | undefined;
  /** Set by this replica's appends: the tail reads again before sleeping (an append during a read is not missed). */
  #appended = false;
  #slack = WINDOW_SLACK;
  /** When (Date.now()) the last read of the newest id that answered began: the tail's, start's, or an append's. */
  #readAt = 0;

  /**
   * @param o.pollMs how often the tail reads when idle, ms; `gapSkipMs` how long a missing id is waited for (default
   *   {@link GAP_SKIP_MS}); `batch` most events per read (default {@link TAIL_BATCH}).
   */
  constructor(
    private readonly col: mongoose.mongo.Collection<LiveEventDoc>,
    private readonly o: { retentionMs: number; pollMs: number; logger: Logger; gapSkipMs?: number; batch?: number },
  ) {}

  /** Creates the index and starts tailing from the newest record. */
  async start(): Promise<void> {
    await this.col.createIndex({ at: 1 });
    this.#head = await this.readNewestId();
    this.#known = this.#head;
    this.#stopped = false;
    this.#loop = this.tail();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  /** The id of the newest event this replica has handed to its listeners (a resume point for new sockets). */
  get head(): number {
    return this.#head;
  }

  /** Adds a listener of tailed events (in id order); returns its removal. */
  listen(fn: (e: TailedEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The newest id in the log (0: none), read now; this replica knows it from then on. */
  private async readNewestId(): Promise<number> {
    const at = Date.now();
    const last = await this.col
      .find({}, { projection: { _id: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .next();
    this.#readAt = Math.max(this.#readAt, at);
    this.#known = Math.max(this.#known, last?._id ?? 0);
    return last?._id ?? 0;
  }

  /**
   * Before an append picks its id: when the newest id was last read half the retention ago or longer, reads it again
   * (see the file's docstring). Records appended after a read of the newest are pruned a retention after it at the
   * earliest, so an id above the one read then cannot have been freed sooner; half leaves room for replicas' clocks.
   */
  private async knowNewest(): Promise<void> {
    if (Date.now() - this.#readAt >= this.o.retentionMs / 2) await this.readNewestId();
  }

  /** {@inheritDoc LiveLog.append} @throws Error when `data` is larger than 64 KiB serialised. */
  async append(e: LiveEventInput): Promise<number> {
    if (Buffer.byteLength(JSON.stringify(e.data) ?? '') > MAX_DATA_BYTES) throw new Error(`live event ${e.type}: data above 64 KiB`);
    await this.knowNewest();
    let id = Math.max(this.#known, this.#head) + 1;
    for (;;) {
      try {
        await this.col.insertOne({ _id: id, type: e.type, data: e.data, audience: e.audience, at: new Date() });
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        id += 1;
      }
    }
    this.#known = Math.max(this.#known, id);
    this.#appended = true;
    this.#wake?.();
    return id;
  }

  /**
   * {@inheritDoc LiveLog.appendMany}: one ordered `insertMany` of consecutive ids; when another replica took one of
   * them, those before it are kept and the rest are tried again after it. @throws Error as {@link append}.
   */
  async appendMany(events: LiveEventInput[]): Promise<number[]> {
    for (const e of events)
      if (Buffer.byteLength(JSON.stringify(e.data) ?? '') > MAX_DATA_BYTES) throw new Error(`live event ${e.type}: data above 64 KiB`);
    await this.knowNewest();
    const ids: number[] = [];
    let id = Math.max(this.#known, this.#head) + 1;
    while (ids.length < events.length) {
      const rest = events.slice(ids.length);
      const at = new Date();
      try {
        await this.col.insertMany(
          rest.map((e, i) => ({ _id: id + i, type: e.type, data: e.data, audience: e.audience, at })),
          { ordered: true },
        );
        for (let i = 0; i < rest.length; i++) ids.push(id + i);
      } catch (err) {
        const e = err as { code?: number; writeErrors?: Array<{ code: number; index: number }> | { code: number; index: number } };
        const first = Array.isArray(e.writeErrors) ? e.writeErrors[0] : e.writeErrors;
        if (!first || first.code !== 11000) throw err;
        for (let i = 0; i < first.index; i++) ids.push(id + i);
        id += first.index + 1; // taken by another replica: the rest after it
        continue;
      }
    }
    this.#known = Math.max(this.#known, ids[ids.length - 1] ?? 0);
    this.#appended = true;
    this.#wake?.();
    return ids;
  }

  /**
   * The events after `after` up to this replica's head, oldest first (ids missing in between left out); undefined when
   * `after + 1` is missing — pruned (the resume point expired) — or `after` was never appended. One query reading the
   * `head - after` records below the head (plus any above it), so its cost follows the distance, not the log's size.
   */
  async since(after: number): Promise<TailedEvent[] | undefined> {
    const head = this.#head;
    // Ahead of this replica's tail (the member came from a replica that read further): nothing to replay when the
    // point exists; the tail brings what follows it.
    if (after > head) return (await this.col.findOne({ _id: after }, { projection: { _id: 1 } })) ? [] : undefined;
    if (after === head) return [];
    // The `head - after` records at or below the head, newest first: walks the `_id` index down from its end and stops
    // there (a range on a number is no index condition on FerretDB); a missing id brings one below `after + 1` instead.
    const docs = (
      await this.col
        .find({ _id: { $lte: head } })
        .sort({ _id: -1 })
        .limit(head - after)
        .batchSize(Math.min(head - after, 10_000))
        .toArray()
    )
      .filter((d) => d._id > after)
      .reverse();
    if (docs[0]?._id !== after + 1) return undefined;
    return docs.map((d) => ({ event: frame(d), audience: d.audience }));
  }

  /** Removes events older than the retention, never the newest. @returns how many. */
  async prune(now = Date.now()): Promise<number> {
    const newest = Math.max(this.#head, this.#known);
    const r = await this.col.deleteMany({ at: { $lt: new Date(now - this.o.retentionMs) }, _id: { $lt: newest } });
    return r.deletedCount;
  }

  private async tail(): Promise<void> {
    while (!this.#stopped) {
      let more = false;
      this.#appended = false;
      try {
        more = await this.step();
      } catch (err) {
        this.o.logger.warn({ err }, 'live log: tail read failed; retrying');
      }
      if (!more && !this.#appended && !this.#stopped) await this.sleep(this.o.pollMs);
    }
  }

  /**
   * Reads the events after the head and hands on those that follow it without a gap (or after a gap waited out).
   * @returns whether to read again at once (more may be there) rather than after `pollMs`
   */
  private async step(): Promise<boolean> {
    const head = this.#head;
    const readAt = Date.now();
    const newest = await this.col.find({}).sort({ _id: -1 }).limit(1).next();
    this.#readAt = Math.max(this.#readAt, readAt);
    if (!newest || newest._id <= head) {
      this.#gapSince = undefined;
      return false;
    }
    this.#known = Math.max(this.#known, newest._id);
    if (newest._id === head + 1) {
      this.#gapSince = undefined;
      this.advance(newest);
      return false;
    }
    // The oldest `take` ids after the head sit `backlog - take` records below the newest when none is missing (a
    // missing one moves the window down: still fine); records appended since the first read move it up (the slack).
    const backlog = newest._id - head;
    const take = Math.min(backlog, this.o.batch ?? TAIL_BATCH);
    const limit = take + this.#slack;
    const window = (
      await this.col
        .find({})
        .sort({ _id: -1 })
        .skip(backlog - take)
        .limit(limit)
        .batchSize(limit)
        .toArray()
    ).reverse();
    const after = window.filter((d) => d._id > head);
    if (window.length === limit && window[0]!._id > head + 1) {
      // Records appended since the first read moved the window above the head: read again with more slack.
      this.#slack = Math.min(this.#slack * 2, 64 * WINDOW_SLACK);
      return true;
    }
    if (after.length === 0) {
      // More than `take` ids after the head are missing (the window fell below it): read from the head up instead.
      const first = await this.col
        .find({ _id: { $gt: head } })
        .sort({ _id: 1 })
        .limit(take)
        .batchSize(take)
        .toArray();
      return this.handOn(first, head);
    }
    this.#slack = WINDOW_SLACK;
    return this.handOn(after, head);
  }

  /**
   * Hands on `docs` (ascending, all after `head`) from `head + 1` up to the first missing id; when `head + 1` itself
   * is missing, only once it has been for `gapSkipMs` (then from the first id there is). @returns whether more may be
   * there to read at once.
   */
  private handOn(docs: LiveEventDoc[], head: number): boolean {
    const first = docs[0];
    if (!first) return false;
    if (first._id !== head + 1) {
      this.#gapSince ??= Date.now();
      if (Date.now() - this.#gapSince < (this.o.gapSkipMs ?? GAP_SKIP_MS)) return false;
      this.o.logger.warn({ from: head + 1, to: first._id - 1 }, 'live log: skipping missing ids');
    }
    this.#gapSince = undefined;
    let i = 0;
    for (; i < docs.length && docs[i]!._id === first._id + i; i++) this.advance(docs[i]!);
    // A run cut short by a missing id: read again at once (the gap's wait starts then).
    return i < docs.length || this.#head < this.#known;
  }

  private advance(doc: LiveEventDoc): void {
    this.#head = doc._id;
    this.#known = Math.max(this.#known, doc._id);
    const e = { event: frame(doc), audience: doc.audience };
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch (err) {
        this.o.logger.warn({ err }, 'live log: listener failed');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }
}
