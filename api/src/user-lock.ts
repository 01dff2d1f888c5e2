/**
 * Named mutexes across api processes (`user:<id>` around every balance change, `billing:<id>` around a tenant's
 * instance state changes), built on the one write FerretDB v1 and MongoDB both make atomic: inserting a unique `_id`.
 *
 * Time is cut into slots of half the lock's lifetime (`ttlMs / 2`). Holding the lock at a moment means owning the
 * document `<key>@<slot>` of that moment's slot; owning a slot is a unique insert, so two holders can never own the
 * same slot, whatever they believe. A holder owns the current slot and the next one:
 * - taking the lock inserts the current and the next slot (a duplicate: someone holds it; wait and retry);
 * - renewal: while held, a heartbeat (every `ttlMs / 8`) inserts the slot after the current one, so a slow critical
 *   section (a provider call) keeps the lock as long as it runs; a holder that crashed blocks others for at most
 *   `ttlMs`, until its last slot has passed;
 * - fencing: {@link HeldLock.fence} before every critical write checks that the holder's own slots still cover the
 *   next `ttlMs / 4`. A holder that froze past its slots (a GC pause, a stopped VM, a slow database) finds them gone
 *   by, may have a successor, and throws {@link LockLostError} instead of writing over its successor's state. No
 *   database read is needed: slots are only ever inserted by their owner.
 * - release deletes the holder's slots, newest first.
 * Slot documents of crashed holders are removed by {@link purgeExpiredLocks}. Processes' clocks are assumed to agree
 * within a small fraction of `ttlMs` (NTP).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from './errors.js';
import { isDuplicateKey, type ApiStore } from './store.js';

export interface LockOptions {
  /**
   * Lock lifetime, ms: how long a crashed holder blocks others, and twice the slot length (see the module comment).
   * Default 10 s.
   */
  ttlMs?: number;
  /** Give up after this long, ms — longer than the lifetime, so a crashed holder's lock expires while waiting. Default 30 s. */
  waitMs?: number;
}

/** The lock a critical section holds. */
export interface HeldLock {
  readonly key: string;
  /** Whether the lock is known to be lost (a frozen holder, a database that refused the renewal). */
  readonly lost: boolean;
  /**
   * Call before every critical write.
   * @throws LockLostError when the holder no longer owns the lock for the next `ttlMs / 4`.
   */
  fence(): void;
}

/**
 * The lock was lost while held (the holder froze or could not renew it in time); the critical section stopped before
 * its next write. Answered as `busy` (503): retrying is safe.
 */
export class LockLostError extends AppError {
  constructor(
    readonly key: string,
    /** Why (for logs; never sent to clients). */
    readonly reason: string,
  ) {
    super('busy', 'The operation was interrupted because another one took over the account; retry.');
    this.name = 'LockLostError';
  }
}

/** In-process serialization per store (one api process = one store) and key, before the database lock. */
const local = new WeakMap<ApiStore, Map<string, Promise<unknown>>>();

/**
 * Runs `fn` holding the lock `user:<userId>` (the wallet's: every balance change).
 * @throws AppError `busy` (503) when the lock cannot be taken within `waitMs`; LockLostError (also `busy`) from a
 *   fenced write after the lock was lost.
 */
export function withUserLock<T>(store: ApiStore, userId: string, fn: (lock: HeldLock) => Promise<T>, o: LockOptions = {}): Promise<T> {
  return withLock(store, `user:${userId}`, fn, o);
}

/**
 * Runs `fn` holding the named lock `key` (e.g. `billing:<userId>` around a tenant's instance state changes). Locks
 * with different keys never wait for each other; the same key is never held twice at once, across processes.
 * `fn` gets the held lock and calls `lock.fence()` before each critical write.
 * @throws AppError `busy` (503) when the lock cannot be taken within `waitMs`; LockLostError (also `busy`) from a
 *   fenced write after the lock was lost.
 */
export async function withLock<T>(store: ApiStore, key: string, fn: (lock: HeldLock) => Promise<T>, o: LockOptions = {}): Promise<T> {
  // Serialize in-process first (cheap), then across processes through the database.
  let chains = local.get(store);
  if (!chains) local.set(store, (chains = new Map()));
  const prev = chains.get(key) ?? Promise.resolve();
  const run = prev
    .catch(() => undefined)
    .then(async () => {
      const lock = await acquireLock(store, key, o);
      try {
        return await fn(lock);
      } finally {
        await lock.release();
      }
    });
  chains.set(key, run);
  try {
    return await run;
  } finally {
    if (chains.get(key) === run) chains.delete(key);
  }
}

/**
 * Takes the lock `key` in the database (no in-process serialization: that is {@link withLock}'s). The caller must
 * `release()` it.
 * @throws AppError `busy` when it cannot be taken within `waitMs`.
 */
async function acquireLock(store: ApiStore, key: string, o: LockOptions = {}): Promise<HeldLock & { release(): Promise<void> }> {
  const ttlMs = o.ttlMs ?? 10_000;
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  for (let attempt = 0; ; attempt++) {
    const lock = new DbLock(store, key, ttlMs);
    if (await lock.take()) return lock;
    if (Date.now() > deadline) throw new AppError('busy');
    await sleep(Math.min(200, 10 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
  }
}

/**
 * Removes slot documents whose time passed more than `graceMs` ago (left by crashed holders; a slot in the past
 * guards nothing). Run by the billing job. @returns how many were removed.
 */
export async function purgeExpiredLocks(store: ApiStore, graceMs = 3_600_000): Promise<number> {
  const r = await store.locks.deleteMany({ expiresAt: { $lt: new Date(Date.now() - graceMs) } });
  return r.deletedCount;
}

class DbLock implements HeldLock {
  private readonly holder = randomUUID();
  private readonly slotMs: number;
  /** Slots owned: a contiguous range [first, last]. */
  private first = -1;
  private last = -1;
  private lostReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ApiStore,
    readonly key: string,
    private readonly ttlMs: number,
  ) {
    this.slotMs = Math.max(2, Math.floor(ttlMs / 2));
  }

  get lost(): boolean {
    return this.lostReason !== undefined || !this.covers();
  }

  /** Owns the current and the next slot, or owns nothing and answers false. */
  async take(): Promise<boolean> {
    const now = this.slot(Date.now());
    if (!(await this.insert(now))) return false;
    this.first = this.last = now;
    let next = false;
    try {
      next = await this.insert(now + 1);
    } finally {
      if (!next) await this.release();
    }
    if (!next) return false;
    this.last = now + 1;
    if (!this.covers()) {
      await this.release(); // the inserts took so long that the slots no longer cover now
      return false;
    }
    this.timer = setInterval(
      () => {
        this.renewing = this.renewing.then(() => this.renew());
      },
      Math.max(1, Math.floor(this.ttlMs / 8)),
    );
    this.timer.unref();
    return true;
  }

  fence(): void {
    if (!this.lostReason && !this.covers())
      this.lostReason = 'its slots ran out before they were renewed (the holder froze or the database was slow)';
    if (this.lostReason) throw new LockLostError(this.key, this.lostReason);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    for (let s = this.last; s >= this.first && s >= 0; s--) {
      await this.store.locks.deleteOne({ _id: this.id(s) }).catch(() => undefined); // a leftover only blocks until its slot passes
    }
    this.first = this.last = -1;
  }

  /** Heartbeat: owns the slot after the current one; a holder that missed its slots stops renewing. */
  private async renew(): Promise<void> {
    if (this.lostReason || this.last < 0) return;
    const current = this.slot(Date.now());
    if (current > this.last) {
      this.lostReason = 'its slots ran out before they were renewed (the holder froze or the database was slow)';
      clearInterval(this.timer);
      return;
    }
    if (this.last > current) return; // the next slot is already owned
    try {
      if (await this.insert(this.last + 1)) this.last++;
      else {
        this.lostReason = 'another holder owns its next slot';
        clearInterval(this.timer);
      }
    } catch {
      /* the database is unreachable: try again at the next beat; fence() refuses once the slots run out */
    }
  }

  /** Whether the owned slots cover now and the next `ttlMs / 4`. */
  private covers(): boolean {
    return this.last >= 0 && this.slot(Date.now()) >= this.first && this.slot(Date.now() + this.slotMs / 2) <= this.last;
  }

  private slot(ms: number): number {
    return Math.floor(ms / this.slotMs);
  }

  private id(slot: number): string {
    return `${this.key}@${slot}`;
  }

  private async insert(slot: number): Promise<boolean> {
    try {
      await this.store.locks.insertOne({
        _id: this.id(slot),
        key: this.key,
        holder: this.holder,
        expiresAt: new Date((slot + 1) * this.slotMs),
      });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Ours after all when an earlier insert landed but its answer was lost.
      return (await this.store.locks.findOne({ _id: this.id(slot) }))?.holder === this.holder;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
