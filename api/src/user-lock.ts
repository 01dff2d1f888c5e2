/**
 * A per-user mutex across api processes, built on the one write FerretDB v1 and MongoDB both make atomic: inserting a
 * unique `_id`. Every balance change runs under it, so "read balance → append ledger entry → store balance" cannot
 * interleave. A holder that died leaves a lock that expires after `ttlMs`; an expired lock is removed and the insert
 * retried (two removers race harmlessly: only one insert wins).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from './errors.js';
import { isDuplicateKey, type ApiStore } from './store.js';

export interface LockOptions {
  /** Lock lifetime, ms (longer than any critical section; a crashed holder blocks others this long). Default 10 s. */
  ttlMs?: number;
  /** Give up after this long, ms — longer than the lifetime, so a crashed holder's lock expires while waiting. Default 30 s. */
  waitMs?: number;
}

const local = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` holding the lock `user:<userId>` (the wallet's: every balance change).
 * @throws AppError `busy` (503) when the lock cannot be taken within `waitMs`.
 */
export function withUserLock<T>(store: ApiStore, userId: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  return withLock(store, `user:${userId}`, fn, o);
}

/**
 * Runs `fn` holding the named lock `key` (e.g. `billing:<userId>` around a tenant's instance state changes). Locks
 * with different keys never wait for each other; the same key is never held twice at once, across processes.
 * @throws AppError `busy` (503) when the lock cannot be taken within `waitMs`.
 */
export async function withLock<T>(store: ApiStore, key: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  // Serialize in-process first (cheap), then across processes through the database.
  const prev = local.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => withDbLock(store, key, fn, o));
  local.set(key, run);
  try {
    return await run;
  } finally {
    if (local.get(key) === run) local.delete(key);
  }
}

async function withDbLock<T>(store: ApiStore, id: string, fn: () => Promise<T>, o: LockOptions): Promise<T> {
  const ttlMs = o.ttlMs ?? 10_000;
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  const holder = randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      await store.locks.insertOne({ _id: id, holder, expiresAt: new Date(Date.now() + ttlMs) });
      break;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      await store.locks.deleteOne({ _id: id, expiresAt: { $lt: new Date() } });
      if (Date.now() > deadline) throw new AppError('busy');
      await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())));
    }
  }
  try {
    return await fn();
  } finally {
    await store.locks.deleteOne({ _id: id, holder });
  }
}
