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

/**
 * Several locks taken at once by one holder, for work on many accounts per database command (billing's daily run:
 * `billing/chunk.ts`). Same slots, renewal, fencing and release as {@link withLock}'s, with one command for all the
 * keys where a single lock sends one per key: the current and next slots of every key are one unordered
 * `insertMany`, a heartbeat inserts every held key's next slot in one `insertMany`, a release deletes the slots by
 * one `deleteMany` on `_id: {$in}`. Never waits: a group of keys (e.g. a tenant's `billing:` and `user:`) of which any
 * key is held elsewhere is not taken (its slots already inserted are removed at once) and is returned as refused,
 * for the caller to take one by one with {@link withLock}. There is no in-process serialization: a `withLock` of
 * the same key in this process waits for the database lock like any other process.
 */
export class LockSet {
  private readonly holder = randomUUID();
  private readonly slotMs: number;
  private first = -1;
  private last = -1;
  /** Held keys → why each was lost (undefined while held). */
  private readonly keys = new Map<string, string | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: ApiStore,
    private readonly ttlMs: number,
  ) {
    this.slotMs = Math.max(2, Math.floor(ttlMs / 2));
  }

  /**
   * Takes every group of keys that no one else holds, each group whole or not at all.
   * @returns the set (release it) and the indexes of the groups refused (some key held elsewhere).
   * @throws the database's error (nothing is held then).
   */
  static async take(store: ApiStore, groups: string[][], o: LockOptions = {}): Promise<{ set: LockSet; refused: number[] }> {
    const set = new LockSet(store, o.ttlMs ?? 10_000);
    const now = set.slot(Date.now());
    set.first = now;
    set.last = now + 1;
    const keys = groups.flat();
    const taken = await set.insert(keys, [now, now + 1]).catch(async (err: unknown) => {
      await set.deleteSlots(keys).catch(() => undefined);
      throw err;
    });
    const refused: number[] = [];
    const covers = set.covers(); // false when the inserts took so long that the slots no longer cover now
    groups.forEach((g, i) => {
      if (covers && g.every((k) => taken.has(k))) for (const k of g) set.keys.set(k, undefined);
      else refused.push(i);
    });
    // The refused groups' slots that were inserted are ours: removed at once (the holder is in the filter).
    const partly = keys.filter((k) => !set.keys.has(k));
    if (partly.length) await set.deleteSlots(partly);
    if (set.keys.size > 0) {
      set.timer = setInterval(
        () => {
          set.renewing = set.renewing.then(() => set.renew());
        },
        Math.max(1, Math.floor(set.ttlMs / 8)),
      );
      set.timer.unref();
    }
    return { set, refused };
  }

  /** The held lock `key`, to fence its writes; its `fence()` throws once the set's slots ran out or the key was lost. */
  lock(key: string): HeldLock {
    if (!this.keys.has(key)) throw new Error(`lock ${key} is not held by this set`);
    const lost = () => !this.keys.has(key) || this.keys.get(key) !== undefined || !this.covers();
    const fence = () => this.fence(key);
    return {
      key,
      get lost() {
        return lost();
      },
      fence,
    };
  }

  /** Releases `keys` (default: all held), by one command. */
  async release(keys: string[] = [...this.keys.keys()]): Promise<void> {
    const mine = keys.filter((k) => this.keys.has(k));
    for (const k of mine) this.keys.delete(k);
    if (this.keys.size === 0) clearInterval(this.timer);
    await this.renewing;
    if (mine.length) await this.deleteSlots(mine).catch(() => undefined); // a leftover only blocks until its slot passes
  }

  private fence(key: string): void {
    if (!this.keys.has(key)) throw new LockLostError(key, 'released by this holder');
    if (this.keys.get(key) === undefined && !this.covers())
      this.keys.set(key, 'its slots ran out before they were renewed (the holder froze or the database was slow)');
    const reason = this.keys.get(key);
    if (reason !== undefined) throw new LockLostError(key, reason);
  }

  /** Heartbeat: every held key's slot after the current one, by one command. */
  private async renew(): Promise<void> {
    const live = [...this.keys].filter(([, lost]) => lost === undefined).map(([k]) => k);
    if (live.length === 0) return;
    const current = this.slot(Date.now());
    if (current > this.last) {
      for (const k of live) this.keys.set(k, 'its slots ran out before they were renewed (the holder froze or the database was slow)');
      clearInterval(this.timer);
      return;
    }
    if (this.last > current) return;
    try {
      const taken = await this.insert(live, [this.last + 1]);
      for (const k of live) if (!taken.has(k)) this.keys.set(k, 'another holder owns its next slot');
      this.last++;
    } catch {
      /* the database is unreachable: try again at the next beat; fence() refuses once the slots run out */
    }
  }

  /**
   * Inserts the slots `slots` of `keys` (unordered). @returns the keys all of whose slots are now ours (a slot
   * refused as a duplicate is ours when an earlier insert landed but its answer was lost).
   */
  private async insert(keys: string[], slots: number[]): Promise<Set<string>> {
    const docs = keys.flatMap((key) =>
      slots.map((s) => ({ _id: this.id(key, s), key, holder: this.holder, expiresAt: new Date((s + 1) * this.slotMs) })),
    );
    const refused = new Set<string>();
    try {
      await this.store.locks.insertMany(docs, { ordered: false });
    } catch (err) {
      type WriteError = { index: number; code?: number; errmsg?: string };
      const errors = (err as { writeErrors?: WriteError[] | WriteError }).writeErrors;
      const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
      if (list.length === 0 || !list.every((e) => isDuplicateKey({ code: e.code, message: e.errmsg }))) throw err;
      const ids = list.map((e) => docs[e.index]!._id);
      const ours = new Set(
        (await this.store.locks.find({ _id: { $in: ids } }).toArray()).filter((d) => d.holder === this.holder).map((d) => d._id),
      );
      for (const e of list) if (!ours.has(docs[e.index]!._id)) refused.add(docs[e.index]!.key);
    }
    return new Set(keys.filter((k) => !refused.has(k)));
  }

  /** Deletes this holder's slots of `keys` in [first, last], by one `deleteMany` (`_id: {$in}` and the holder). */
  private async deleteSlots(keys: string[]): Promise<void> {
    const ids: string[] = [];
    for (const k of keys) for (let s = this.first; s <= this.last && s >= 0; s++) ids.push(this.id(k, s));
    if (ids.length > 0) await this.store.locks.deleteMany({ _id: { $in: ids }, holder: this.holder });
  }

  private covers(): boolean {
    return this.last >= 0 && this.slot(Date.now()) >= this.first && this.slot(Date.now() + this.slotMs / 2) <= this.last;
  }

  private slot(ms: number): number {
    return Math.floor(ms / this.slotMs);
  }

  private id(key: string, slot: number): string {
    return `${key}@${slot}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
