/**
 * A keyed, de-duplicating, rate-limited work queue with client-go's semantics (util/workqueue `Typed`,
 * `delayingType`, `ItemExponentialFailureRateLimiter`):
 *
 * - Fair: keys are handed out in the order they were added (FIFO).
 * - Stingy: a key added while it is already queued is not queued twice (the `dirty` set); a key added while it is
 *   being processed (the `processing` set) is not handed to a second worker but re-queued when `done(key)` is called.
 *   One key is therefore never processed concurrently.
 * - Delayed adds (`addAfter`) wait in a min-heap; a key waiting twice keeps the earlier ready time.
 * - Per-key exponential backoff for `addRateLimited` (base · 2^failures, capped; controller-runtime's default is
 *   5 ms doubling up to 1000 s), reset by `forget`.
 * - Two priorities (like controller-runtime's priority queue): `addLowPriority` keys are handed out only when no
 *   normal key waits; a normal `add` of a key waiting at low priority promotes it. With `lowPriorityConcurrency`,
 *   at most that many low-priority keys are processed at once while normal keys are waiting or being processed (a
 *   burst of normal work is not slowed down by the low-priority work it leaves behind); once no normal key is in
 *   hand, low-priority keys go to every free worker.
 *
 * Single-threaded JavaScript needs no locks: every method runs to completion; `get()` is the only waiting call.
 */

/**
 * What the queue reports, mirroring client-go's `queueMetrics` (implemented with prom-client by `metrics.ts`).
 * All durations are in seconds, as Prometheus conventions want.
 */
export interface WorkQueueMetrics {
  /** A key became dirty (counted in `workqueue_adds_total`); `depth` is the new number of dirty keys. */
  add(depth: number): void;
  /** A key was handed to a worker after waiting `queuedSeconds` since it was added; `depth` as after the hand-out. */
  get(depth: number, queuedSeconds: number): void;
  /** A worker finished a key it held for `workSeconds`. */
  done(workSeconds: number): void;
  /** A key was re-added through `addAfter` / `addRateLimited` (`workqueue_retries_total`). */
  retry(): void;
  /** Sum and maximum of the time the keys now being processed have been held, s. */
  unfinished(totalSeconds: number, longestSeconds: number): void;
}

export interface WorkQueueOptions {
  /** Name used in metrics and logs. Default 'workqueue'. */
  name?: string;
  /** First rate-limited delay, ms. Default 5 (controller-runtime). */
  baseDelayMs?: number;
  /** Maximum rate-limited delay, ms. Default 1_000_000 (1000 s, controller-runtime). */
  maxDelayMs?: number;
  metrics?: WorkQueueMetrics;
  /** How often the unfinished-work gauges are refreshed while metrics are set, ms. Default 500 (client-go). */
  unfinishedWorkUpdatePeriodMs?: number;
  /** Clock, ms since the epoch. Default `Date.now`. Used for metrics only; delays use timers. */
  now?: () => number;
  /**
   * Most low-priority keys processed at once while a normal-priority key waits or is being processed. Default
   * Infinity (low-priority keys go to any free worker when no normal key waits).
   */
  lowPriorityConcurrency?: number;
}

interface Waiting<K> {
  key: K;
  /** Ready time, ms (`performance.now()` based). */
  at: number;
  /** Tie-breaker keeping insertion order for equal times. */
  seq: number;
}

/** Binary min-heap of delayed keys ordered by ready time, then insertion. */
class DelayHeap<K> {
  private readonly items: Waiting<K>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Waiting<K> | undefined {
    return this.items[0];
  }

  push(w: Waiting<K>): void {
    const a = this.items;
    a.push(w);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Waiting<K> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }

  private less(x: Waiting<K>, y: Waiting<K>): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}

/** FIFO with O(1) amortized push/shift (an array with a moving head, compacted now and then). */
class Fifo<K> {
  private items: K[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(k: K): void {
    this.items.push(k);
  }

  shift(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const k = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** controller-runtime's default rate limiter base delay, ms. */
export const DEFAULT_BASE_DELAY_MS = 5;
/** controller-runtime's default rate limiter maximum delay, ms (1000 s). */
export const DEFAULT_MAX_DELAY_MS = 1_000_000;

/** See the module comment. `K` must be usable as a `Map` key (strings in practice: `namespace/name`). */
export class WorkQueue<K = string> {
  readonly name: string;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly now: () => number;

  private readonly queue = new Fifo<K>();
  /** Low-priority line; an entry is valid only while its key is in `lowDirty` (promoted keys leave stale entries). */
  private readonly lowQueue = new Fifo<K>();
  /** Dirty keys whose pending add is low priority only. */
  private readonly lowDirty = new Set<K>();
  /** Keys that need processing (queued, or re-added while processing); value: time first added, ms. */
  private readonly dirty = new Map<K, number>();
  /** Keys held by a worker; value: time handed out, ms. */
  private readonly processing = new Map<K, number>();
  /** The keys of `processing` that were handed out at low priority. */
  private readonly lowProcessing = new Set<K>();
  private readonly lowPriorityConcurrency: number;
  /** Workers blocked in `get()`. */
  private readonly waiters: Array<(k: K | undefined) => void> = [];

  /** Delayed keys: earliest ready time per key (authoritative) and the heap (may hold stale entries). */
  private readonly delayed = new Map<K, number>();
  private readonly heap = new DelayHeap<K>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /** Consecutive rate-limited requeues per key. */
  private readonly failures = new Map<K, number>();

  private shuttingDown = false;
  private draining = false;
  private drained: Array<() => void> = [];
  private readonly unfinishedTimer: NodeJS.Timeout | undefined;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? 'workqueue';
    this.baseDelayMs = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    if (!(this.baseDelayMs > 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError(`WorkQueue ${this.name}: need 0 < baseDelayMs <= maxDelayMs (got ${this.baseDelayMs}, ${this.maxDelayMs})`);
    }
    this.metrics = opts.metrics;
    this.now = opts.now ?? Date.now;
    this.lowPriorityConcurrency = opts.lowPriorityConcurrency ?? Infinity;
    if (!(this.lowPriorityConcurrency >= 1)) {
      throw new RangeError(`WorkQueue ${this.name}: need lowPriorityConcurrency >= 1 (got ${this.lowPriorityConcurrency})`);
    }
    if (this.metrics) {
      this.unfinishedTimer = setInterval(() => this.updateUnfinishedWork(), opts.unfinishedWorkUpdatePeriodMs ?? 500);
      this.unfinishedTimer.unref();
    }
  }

  /** Marks `key` as needing processing. Ignored after shutdown. */
  add(key: K): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      if (this.lowDirty.delete(key) && !this.processing.has(key)) {
        this.queue.push(key); // promoted
        this.wake();
      }
      return;
    }
    this.dirty.set(key, this.now());
    this.metrics?.add(this.dirty.size);
    if (this.processing.has(key)) return; // re-queued by done()
    this.enqueue(key);
  }

  /**
   * Marks `key` as needing processing once no normal-priority key waits (a key already pending keeps its priority).
   * Ignored after shutdown.
   */
  addLowPriority(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.set(key, this.now());
    this.lowDirty.add(key);
    this.metrics?.add(this.dirty.size);
    if (this.processing.has(key)) return; // re-queued by done()
    this.enqueue(key);
  }

  /** Whether a normal-priority key is waiting to be handed out. */
  hasWaiting(): boolean {
    return this.queue.length > 0;
  }

  /** Keys now held by workers that were handed out at normal priority. */
  normalProcessingLen(): number {
    return this.processing.size - this.lowProcessing.size;
  }

  /**
   * Adds `key` after `delayMs` ms (at once when `delayMs` <= 0). If the key is already waiting, the earlier of the
   * two ready times wins. Counts as a retry. Ignored after shutdown.
   */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    this.metrics?.retry();
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = performance.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing <= at) return;
    this.delayed.set(key, at);
    this.heap.push({ key, at, seq: this.seq++ });
    this.armTimer();
  }

  /** Adds `key` after its backoff: `baseDelayMs · 2^numRequeues(key)`, capped at `maxDelayMs`; counts the failure. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.when(key));
  }

  /**
   * The next rate-limited delay of `key` in ms, and counts one more failure (client-go's `RateLimiter.When`).
   * Exposed for callers that schedule retries themselves.
   */
  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n; Math.min caps it.
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  /** Clears the backoff of `key` (call after a successful reconcile). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times `key` has been rate-limited since the last `forget`. */
  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Waits for the next key to process; it is then held by the caller until `done(key)`. Resolves `undefined` once
   * the queue is shut down (keys still queued are then not handed out).
   */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.shiftNext();
    if (key !== undefined) return Promise.resolve(this.handOut(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Releases `key` held since `get()`; if it was added again meanwhile, it is queued again. */
  done(key: K): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.lowProcessing.delete(key);
    this.metrics?.done((this.now() - started) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    else this.wake(); // a low-priority slot may have come free
    if (this.processing.size === 0 && this.draining) this.finishDrain();
  }

  /** Keys waiting to be handed out (not counting delayed keys or keys being processed). */
  len(): number {
    let low = 0;
    for (const k of this.lowDirty) if (!this.processing.has(k)) low++;
    return this.queue.length + low;
  }

  /** Keys waiting in `addAfter` / `addRateLimited` delays. */
  delayedLen(): number {
    return this.delayed.size;
  }

  /** Keys now held by workers. */
  processingLen(): number {
    return this.processing.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops the queue at once: later adds are ignored, delayed keys dropped, blocked and later `get()` calls resolve
   * `undefined`. Keys being processed may still be `done()`.
   */
  shutDown(): void {
    this.draining = false;
    this.stopAccepting();
    this.finishDrain();
  }

  /**
   * Like {@link shutDown}, but resolves only when every key being processed has been `done()`. Workers must call
   * `done` for every key they hold, or this never resolves; calling `shutDown()` afterwards resolves it at once.
   */
  shutDownWithDrain(): Promise<void> {
    this.stopAccepting();
    if (this.processing.size === 0) return Promise.resolve();
    this.draining = true;
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private stopAccepting(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unfinishedTimer) clearInterval(this.unfinishedTimer);
    this.heap.clear();
    this.delayed.clear();
    this.queue.clear();
    this.lowQueue.clear();
    for (const k of [...this.lowDirty]) if (!this.processing.has(k)) this.lowDirty.delete(k);
    // Keys not yet handed out will not be: only those being processed stay dirty-tracked.
    for (const k of [...this.dirty.keys()]) if (!this.processing.has(k)) this.dirty.delete(k);
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private finishDrain(): void {
    this.draining = false;
    for (const r of this.drained.splice(0)) r();
  }

  /** Puts a dirty, not-processing key in line, then hands out what blocked workers may take. */
  private enqueue(key: K): void {
    if (this.lowDirty.has(key)) this.lowQueue.push(key);
    else this.queue.push(key);
    this.wake();
  }

  /** Hands keys to blocked workers while there are keys they may take. */
  private wake(): void {
    while (this.waiters.length > 0 && !this.shuttingDown) {
      const key = this.shiftNext();
      if (key === undefined) return;
      this.waiters.shift()!(this.handOut(key));
    }
  }

  /**
   * The next key to hand out: normal priority first, then the first valid low-priority entry (unless the
   * low-priority limit is reached while normal keys are in hand).
   */
  private shiftNext(): K | undefined {
    const key = this.queue.shift();
    if (key !== undefined) return key;
    if (this.lowProcessing.size >= this.lowPriorityConcurrency && this.normalProcessingLen() > 0) return undefined;
    for (let k = this.lowQueue.shift(); k !== undefined; k = this.lowQueue.shift()) {
      if (this.lowDirty.has(k) && !this.processing.has(k)) return k;
    }
    return undefined;
  }

  private handOut(key: K): K {
    if (this.lowDirty.delete(key)) this.lowProcessing.add(key);
    const now = this.now();
    const added = this.dirty.get(key) ?? now;
    this.dirty.delete(key);
    this.processing.set(key, now);
    this.metrics?.get(this.dirty.size, (now - added) / 1000);
    return key;
  }

  /** (Re-)arms the single timer for the earliest delayed key. */
  private armTimer(): void {
    const top = this.heap.peek();
    if (!top) return;
    if (this.timer && this.timerAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.fireDelayed(), Math.max(0, top.at - performance.now()));
  }

  private fireDelayed(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.delayed.get(top.key) !== top.at) continue; // superseded by an earlier ready time
      this.delayed.delete(top.key);
      this.add(top.key);
    }
    this.armTimer();
  }

  private updateUnfinishedWork(): void {
    if (!this.metrics) return;
    const now = this.now();
    let total = 0;
    let longest = 0;
    for (const started of this.processing.values()) {
      const s = (now - started) / 1000;
      total += s;
      if (s > longest) longest = s;
    }
    this.metrics.unfinished(total, longest);
  }
}
