/**
 * Journal entries held for webhook events delivered before they were stored. An inbound message's events may be
 * handed to the dispatchers without an outbox record (the persister's `deferEvents`): each is then stored once, with
 * its outcome (a delivered record, or a pending one to retry). Until every such event of a message has its outcome
 * stored, the message's journal entry is not released, so a crash in between replays the message and queues its
 * events again (stable ids: at least once, never lost). An entry is released once its message is written
 * ({@link JournalHolds.written}) and no event of it is held any more ({@link JournalHolds.recorded}), in either order.
 */

/** Which outbox an event belongs to: the tenant's webhook or the platform's subscription (`api_outbox`). */
export type EventTarget = 'tenant' | 'api';

export class JournalHolds {
  /** Journal sequence number of each held event, by `<target>:<event id>`. */
  readonly #seqOf = new Map<string, number>();
  /** Per sequence number: events still held, and whether its message is written. */
  readonly #entries = new Map<number, { held: number; written: boolean }>();

  /** @param commit releases journal entries (the journal's `committed`) */
  constructor(private readonly commit: (seqs: number[]) => void) {}

  /** Events held now (for tests and metrics). */
  get size(): number {
    return this.#seqOf.size;
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
    const e = this.#entries.get(seq);
    if (e) e.held++;
    else this.#entries.set(seq, { held: 1, written: false });
    return true;
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
      const e = this.#entries.get(seq)!;
      if (--e.held > 0) continue;
      this.#entries.delete(seq);
      if (e.written) now.push(seq);
    }
    if (now.length) this.commit(now);
  }
}
