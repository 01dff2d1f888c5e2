/**
 * Per-key serialization for providers: operations on one instance (create, suspend, resume, delete, reconcile,
 * restart) run one after another in call order; different instances run in parallel. A failed operation does not
 * block the next one. In-process only (one api process drives a provider).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier operation on `key` has settled; resolves or rejects with `fn`'s outcome. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every operation queued so far has settled (used on close). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.tails.values()]);
  }
}
