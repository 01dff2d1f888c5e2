/**
 * Two ways of bounding concurrent work, shared by the services instead of each keeping its own copy: one run per key
 * at a time ({@link SingleFlight}), and a list worked through by a few calls at a time ({@link forEachInParallel}).
 */

/**
 * Calls that share one run per key: while the promise of `run(key, start)` is pending, every other `run` of that key
 * gets that same promise (its `start` is not called); once it settles, the next `run` starts anew. Nothing is kept
 * after a run settles — a cache, if wanted, is the caller's.
 */
export class SingleFlight<K, V> {
  readonly #running = new Map<K, Promise<V>>();

  /**
   * The run under way for `key`, or a new one from `start()` (a synchronous throw of `start` becomes the rejection).
   * @returns the run's promise: `start()`'s outcome, shared by every caller that joined it.
   */
  run(key: K, start: () => Promise<V>): Promise<V> {
    const running = this.#running.get(key);
    if (running) return running;
    let started: Promise<V>;
    try {
      started = start();
    } catch (err) {
      started = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const p = started.finally(() => {
      if (this.#running.get(key) === p) this.#running.delete(key);
    });
    this.#running.set(key, p);
    return p;
  }

  /** The run under way for `key` (what {@link run} would join), or undefined. */
  get(key: K): Promise<V> | undefined {
    return this.#running.get(key);
  }

  /** True while a run for `key` is under way. */
  has(key: K): boolean {
    return this.#running.has(key);
  }

  /** Runs under way. */
  get size(): number {
    return this.#running.size;
  }

  /** Resolves once every run under way now has settled (their outcomes are the callers'; never rejects). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }
}

/**
 * Calls `fn` on the items in their order, at most `limit` (≥ 1) calls at a time. A call that fails ends its worker
 * (the other workers go on with the items left); once every worker has ended, the first failure (in time) is thrown.
 * Resolves when every call has settled, so nothing started here is still running when it returns or throws.
 * @throws RangeError when `limit` is not a whole number ≥ 1; else what the first failing call threw.
 */
export async function forEachInParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number ≥ 1, not ${limit}`);
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      try {
        while (next < items.length) await fn(items[next++]!);
      } catch (err) {
        failure ??= { err };
      }
    }),
  );
  if (failure) throw failure.err;
}
