/**
 * A controller in the manner of controller-runtime's `internal/controller`: `maxConcurrentReconciles` workers take
 * keys from a {@link WorkQueue} and run `reconcile(key)`; the outcome decides what happens to the key:
 *
 * | reconcile …                     | queue                             | `controller_runtime_reconcile_total{result}` |
 * |---------------------------------|-----------------------------------|----------------------------------------------|
 * | throws / rejects                | `addRateLimited` (backoff grows)  | `error` (+ `reconcile_errors_total`)         |
 * | `{ requeueAfterMs: n > 0 }`     | `forget`, `addAfter(n)`           | `requeue_after`                              |
 * | `{ requeue: true }`             | `addRateLimited`                  | `requeue`                                    |
 * | `{ requeueLowPriority: true }`  | `forget`, `addLowPriority`        | `requeue`                                    |
 * | anything else                   | `forget`                          | `success`                                    |
 *
 * and the key is always `done`. Errors are logged and counted; they never end a worker. The queue guarantees one
 * key is never reconciled by two workers at once.
 *
 * Event sources are wired with {@link Controller.enqueueFor}: `objectKey` for the primary resource (controller-runtime
 * `For()`), {@link controllerOwnerKey} for owned children (`Owns()`).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Informer } from './informer.js';
import { errFields, silentLogger, type RuntimeLogger } from './logger.js';
import type { WorkQueue } from './workqueue.js';

/** What a reconcile asks for. `requeueAfterMs` wins over `requeue`. */
export interface ReconcileResult {
  /** Requeue with the key's rate-limited backoff. */
  requeue?: boolean;
  /** Requeue after this many ms (and reset the backoff). */
  requeueAfterMs?: number;
  /** Requeue at once, behind every normal-priority key (and reset the backoff): the rest of the work can wait. */
  requeueLowPriority?: boolean;
}

/** The `result` label of `controller_runtime_reconcile_total`. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

/** What the controller reports (implemented with prom-client by `metrics.ts`). */
export interface ControllerMetrics {
  /** `controller_runtime_max_concurrent_reconciles` */
  setMaxConcurrentReconciles(n: number): void;
  /** `controller_runtime_active_workers` += delta */
  activeWorkers(delta: number): void;
  /** `controller_runtime_reconcile_total{result}`, `…_errors_total`, `…_reconcile_time_seconds` (s). */
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
  /** `controller_runtime_reconcile_panics_total`: reconcile threw a programming error (TypeError, RangeError, ReferenceError). */
  panicked(): void;
}

export interface ControllerOptions<K = string> {
  /** Name in metrics (`controller` label) and logs. */
  name: string;
  queue: WorkQueue<K>;
  /**
   * Reconciles one key. `signal` aborts when the controller is stopping (in-flight reconciles are still awaited).
   * Resolve `undefined`/`{}` for success; throw to retry with backoff.
   */
  reconcile: (key: K, signal: AbortSignal) => Promise<ReconcileResult | void>;
  /** Parallel workers. Default 1 (controller-runtime). */
  maxConcurrentReconciles?: number;
  metrics?: ControllerMetrics;
  logger?: RuntimeLogger;
}

/** Maps an object to the keys to enqueue for it (none: undefined/null/[]). */
export type MapFn<T, K> = (obj: T) => K | readonly K[] | undefined | null;

/** A controller owner to follow: kind plus API group ('' for the core group). */
export interface OwnerKind {
  kind: string;
  group: string;
}

function groupOf(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * A {@link MapFn} to the `namespace/name` key of an object's controller owner (the ownerReference with
 * `controller: true`) when it is of kind `owner` (e.g. `{ kind: 'MyApp', group: 'example.com' }`) — controller-runtime's
 * `EnqueueRequestForOwner(…, OnlyControllerOwner())`. Owners are namespaced like the object.
 */
export function controllerOwnerKey(owner: OwnerKind): (obj: KubernetesObject) => string | undefined {
  return (obj) => {
    const ref = obj.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (!ref || ref.kind !== owner.kind || groupOf(ref.apiVersion) !== owner.group) return undefined;
    const ns = obj.metadata?.namespace;
    return ns ? `${ns}/${ref.name}` : ref.name;
  };
}

function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
}

/** See the module comment. */
export class Controller<K = string> {
  readonly name: string;
  readonly queue: WorkQueue<K>;
  private readonly reconcileFn: ControllerOptions<K>['reconcile'];
  private readonly workers: number;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly log: RuntimeLogger;
  private readonly stopCtl = new AbortController();
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  /** @throws RangeError when `maxConcurrentReconciles` is not a positive integer. */
  constructor(opts: ControllerOptions<K>) {
    this.name = opts.name;
    this.queue = opts.queue;
    this.reconcileFn = opts.reconcile;
    this.workers = opts.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(this.workers) || this.workers < 1)
      throw new RangeError(`controller ${this.name}: maxConcurrentReconciles must be a positive integer`);
    this.metrics = opts.metrics;
    this.log = opts.logger ?? silentLogger;
  }

  /**
   * Starts the workers; resolves once the controller has stopped (after {@link stop}, or `signal` aborting) and
   * every in-flight reconcile has finished. Calling it again returns the same promise.
   * @throws Error if the controller was already stopped.
   */
  start(signal?: AbortSignal): Promise<void> {
    if (this.running) return this.running;
    if (this.stopCtl.signal.aborted || this.queue.isShuttingDown())
      return Promise.reject(new Error(`controller ${this.name} was stopped; create a new one`));
    this.metrics?.setMaxConcurrentReconciles(this.workers);
    this.log.info({ controller: this.name, workers: this.workers }, 'starting workers');
    const loops = Array.from({ length: this.workers }, () => this.worker());
    this.running = Promise.all(loops).then(() => this.log.info({ controller: this.name }, 'all workers finished'));
    if (signal) {
      if (signal.aborted) void this.stop();
      else signal.addEventListener('abort', () => void this.stop(), { once: true });
    }
    return this.running;
  }

  /** Stops taking keys, waits for in-flight reconciles (drain), and resolves when all workers have exited. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopCtl.abort();
    this.stopping = (async () => {
      await this.queue.shutDownWithDrain();
      await this.running;
    })();
    return this.stopping;
  }

  /** Adds `key` to the queue. */
  enqueue(key: K): void {
    this.queue.add(key);
  }

  /**
   * Enqueues `map(obj)` for every add, update (both the old and the new object, in case the mapping changed) and
   * delete the informer delivers. Returns a function that unregisters the handlers.
   * Use `objectKey` for the primary resource and {@link controllerOwnerKey} for owned ones.
   */
  enqueueFor<T extends KubernetesObject>(informer: Informer<T>, map: MapFn<T, K>): () => void {
    const enqueue = (obj: T): void => {
      const keys = map(obj);
      if (keys === undefined || keys === null) return;
      if (Array.isArray(keys)) for (const k of keys as readonly K[]) this.queue.add(k);
      else this.queue.add(keys as K);
    };
    return informer.addHandlers({
      onAdd: enqueue,
      onUpdate: (oldObj, newObj) => {
        enqueue(newObj);
        if (oldObj !== newObj) enqueue(oldObj);
      },
      onDelete: enqueue,
    });
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processOne(key);
    }
  }

  private async processOne(key: K): Promise<void> {
    this.metrics?.activeWorkers(1);
    const t0 = performance.now();
    let outcome: ReconcileOutcome = 'success';
    try {
      const res = (await this.reconcileFn(key, this.stopCtl.signal)) ?? {};
      if (res.requeueAfterMs !== undefined && res.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfterMs);
        outcome = 'requeue_after';
      } else if (res.requeueLowPriority) {
        this.queue.forget(key);
        this.queue.addLowPriority(key);
        outcome = 'requeue';
      } else if (res.requeue) {
        this.queue.addRateLimited(key);
        outcome = 'requeue';
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      outcome = 'error';
      if (isProgrammingError(err)) this.metrics?.panicked();
      this.queue.addRateLimited(key);
      this.log.error(
        { controller: this.name, key: String(key), requeues: this.queue.numRequeues(key), ...errFields(err) },
        'reconcile failed',
      );
    } finally {
      this.metrics?.reconciled(outcome, (performance.now() - t0) / 1000);
      this.metrics?.activeWorkers(-1);
      this.queue.done(key);
    }
  }
}
