/**
 * Journal entries held for webhook events delivered before they were stored. An inbound message's events may be
 * handed to the dispatchers without an outbox record (the persister's `deferEvents`): each is then stored once, with
 * its outcome (a delivered record, or a pending one to retry). Until every such event of a message has its outcome
 * stored, the message's journal entry is not released, so a crash in between replays the message and queues its
 * events again (stable ids: at least once, never lost). An entry is released once its message is written
 * ({@link JournalHolds.written}) and no event of it is held any more ({@link JournalHolds.recorded}), in either order.
 *
 * A pin ({@link JournalHolds.pin}) holds an entry the same way while its message's events are being queued: they may
 * be queued after an await (the webhook settings read from MongoDB on a cache miss), so after the message's batch was
 * written; the entry must outlive that batch until those events are written too (the persister's `holdJournal`).
 */

/** Which outbox an event belongs to: the tenant's webhook or the platform's subscription (`api_outbox`). */
export type EventTarget = 'tenant' | 'api';

export class JournalHolds {
  /** Journal sequence number of each held event, by `<target>:<event id>`. */
  readonly #seqOf = new Map<string, number>();
  readonly #heldOf: Record<EventTarget, number> = { tenant: 0, api: 0 };
  /** Per sequence number: events and pins still holding it, and whether its message is written. */
  readonly #entries = new Map<number, { held: number; written: boolean }>();

  /** @param commit releases journal entries (the journal's `committed`) */
  constructor(private readonly commit: (seqs: number[]) => void) {}

  /** Events held now, of both outboxes. */
  get size(): number {
    return this.#seqOf.size;
  }

  /** Events of `target` held now: handed over unstored, their record not stored yet. */
  held(target: EventTarget): number {
    return this.#heldOf[target];
  }

  /** Whether event `id` of `target` is held (handed over, its record not stored yet). */
  has(target: EventTarget, id: string): boolean {
    return this.#seqOf.has(`${target}:${id}`);
  }

  /**
   * Holds the entry `seq` until event `id` of `target` has its outcome stored. @returns false when that event is held
   * already (handed over twice: the second hand-over is not taken).
   */
  hold(target: EventTarget, id: string, seq: number): boolean {
    const key = `${target}:${id}`;
    if (this.#seqOf.has(key)) return false;
    this.#seqOf.set(key, seq);
    this.#heldOf[target]++;
    this.pin(seq);
    return true;
  }

  /** Holds the entry `seq` until {@link unpin} (one unpin per pin), whether or not its message is written by then. */
  pin(seq: number): void {
    const e = this.#entries.get(seq);
    if (e) e.held++;
    else this.#entries.set(seq, { held: 1, written: false });
  }

  /** Ends one {@link pin} of `seq`: the entry is released now if its message is written and nothing else holds it. */
  unpin(seq: number): void {
    const now: number[] = [];
    this.#drop(seq, now);
    if (now.length) this.commit(now);
  }

  /** The messages of entries `seqs` are in MongoDB: those holding no event are released now, the others later. */
  written(seqs: readonly number[]): void {
    const now: number[] = [];
    for (const seq of seqs) {
      const e = this.#entries.get(seq);
      if (!e) now.push(seq);
      else e.written = true;
    }
    if (now.length) this.commit(now);
  }

  /** Events `ids` of `target` have their outcome stored (or were stored as pending records): their entries may go. */
  recorded(target: EventTarget, ids: readonly string[]): void {
    const now: number[] = [];
    for (const id of ids) {
      const key = `${target}:${id}`;
      const seq = this.#seqOf.get(key);
      if (seq === undefined) continue;
      this.#seqOf.delete(key);
      this.#heldOf[target]--;
      this.#drop(seq, now);
    }
    if (now.length) this.commit(now);
  }

  /** One hold of `seq` ends; adds it to `now` when that was the last and its message is written. */
  #drop(seq: number, now: number[]): void {
    const e = this.#entries.get(seq);
    if (!e || --e.held > 0) return;
    this.#entries.delete(seq);
    if (e.written) now.push(seq);
  }
}

/**
 * The persister's pins of journal entries (`Persister.holdJournal`): each is let go once the operations queued before
 * its release are written. The persister writes its queue in order, so counting operations queued and written is
 * enough.
 */
export class JournalPins {
  #queued = 0;
  #written: number;
  /** Pins let go, each waiting for the operations queued before it (`at`), in release order. */
  readonly #waiting: Array<{ at: number; seq: number }> = [];

  /** @param writtenFirst operations the persister writes before any queued now (a spill file left by the previous run) */
  constructor(
    private readonly holds: JournalHolds,
    writtenFirst: number,
  ) {
    this.#written = -writtenFirst;
  }

  /** One operation was queued (in memory or in the spill file). */
  enqueued(): void {
    this.#queued++;
  }

  /** The next `n` operations in queue order were written: the pins waiting for them are ended. */
  written(n: number): void {
    this.#written += n;
    let i = 0;
    while (i < this.#waiting.length && this.#waiting[i]!.at <= this.#written) this.holds.unpin(this.#waiting[i++]!.seq);
    if (i) this.#waiting.splice(0, i);
  }

  /** Pins entry `seq`; the returned function lets it go once what is queued by then is written (a second call: nothing). */
  hold(seq: number): () => void {
    this.holds.pin(seq);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.#written >= this.#queued) this.holds.unpin(seq);
      else this.#waiting.push({ at: this.#queued, seq });
    };
  }
}
