/**
 * A list+watch informer with an in-memory cache, in the manner of client-go's reflector + store + shared informer:
 *
 * - List (paginated, a consistent read) fills the cache; then a watch from the list's resourceVersion keeps it
 *   current (with `allowWatchBookmarks`, so quiet resources still advance their resourceVersion).
 * - A watch that ends normally (server-side `timeoutSeconds`, or no byte for that long plus 30 s) is resumed
 *   from the last resourceVersion without a list, as client-go does. Any failure — a watch or list error, the
 *   apiserver going away, a watch closed instantly, an ERROR event, `410 Gone` — leads to a relist, with
 *   exponential backoff (default 200 ms doubling to 30 s, reset after a successful list; `410 Gone` relists at once).
 *   It keeps trying until {@link Informer.stop}.
 * - A relist is compared with the cache: new objects are delivered as adds, changed ones (other resourceVersion) as
 *   updates, and cached objects missing from the list — deleted while no watch was running — as deletes.
 * - Every `resyncMs` all cached objects are re-delivered as updates (old === new), so controllers re-reconcile them.
 *
 * List and watch are plain GETs over the shared keep-alive pool of client/transport.ts, so cached objects are the
 * apiserver's JSON as is: strings for timestamps, `apiVersion`/`kind` filled in on list items (the apiserver omits
 * them there).
 *
 * Memory (controller-runtime's cache options): `metadataOnly` lists and watches PartialObjectMetadata (no spec, data
 * or status is ever received or held — for children the controller only needs to know exist and are owned);
 * `transform` shrinks each object before it is cached (default: drop `metadata.managedFields`).
 *
 * Write-through ({@link Informer.upsert}, client-go's MutationCache idea): the controller puts the answer of its own
 * write into the cache at once, so its next reconcile does not act on a stale copy; the watch event carrying the
 * same resourceVersion is then not delivered to handlers again.
 *
 * The cache is store.ts: O(1) by `namespace/name`; `list(namespace)` is O(objects in that namespace).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiServerError, isGone, type ApiServerStatus } from '../client/errors.js';
import { KubeTransport } from '../client/transport.js';
import type { InformerHandlers, InformerOptions } from './informer-options.js';
import { errFields, silentLogger, type RuntimeLogger } from './logger.js';
import { ObjectStore, objectKey } from './store.js';

export type { InformerHandlers, InformerOptions } from './informer-options.js';
export { objectKey, splitKey } from './store.js';

interface ListResponse<T> {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

type WatchOutcome = { kind: 'closed'; events: number; ms: number } | { kind: 'gone' } | { kind: 'error'; err: unknown };

/** See the module comment. */
export class Informer<T extends KubernetesObject> {
  readonly name: string;
  private readonly transport: KubeTransport;
  private readonly opts: InformerOptions<T>;
  private readonly log: RuntimeLogger;
  private readonly path: string;
  private readonly accept: { list: string; watch: string };

  private readonly cache = new ObjectStore<T>();
  private readonly handlers = new Set<InformerHandlers<T>>();

  private resourceVersion = '';
  private synced = false;
  private syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private running: Promise<void> | undefined;
  private stopCtl = new AbortController();
  private currentWatch: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relists = 0;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.transport = KubeTransport.for(opts.kubeConfig);
    this.name = opts.name ?? opts.plural;
    this.log = opts.logger ?? silentLogger;
    const prefix = opts.apiVersion.includes('/') ? `/apis/${opts.apiVersion}` : `/api/${opts.apiVersion}`;
    this.path = opts.namespace ? `${prefix}/namespaces/${encodeURIComponent(opts.namespace)}/${opts.plural}` : `${prefix}/${opts.plural}`;
    this.accept = opts.metadataOnly
      ? {
          list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
          watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
        }
      : { list: 'application/json', watch: 'application/json' };
  }

  /** Registers handlers; returns a function that removes them. Objects already cached are not replayed. */
  addHandlers(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }

  /** Starts listing and watching in the background (idempotent). Progress: {@link hasSynced}, {@link waitForSync}. */
  start(): void {
    if (this.running) return;
    this.stopCtl = new AbortController();
    this.running = this.run().catch((err: unknown) => this.log.error({ informer: this.name, ...errFields(err) }, 'informer loop crashed'));
    if (this.opts.resyncMs && this.opts.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
    }
  }

  /** Stops watching and retrying; resolves when the background loop has ended. The cache is kept. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopCtl.abort();
    this.currentWatch?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    const running = this.running;
    await running;
    this.running = undefined;
    for (const w of this.syncWaiters.splice(0)) w.reject(new Error(`informer ${this.name} stopped before it synced`));
  }

  /** True once the first list has been applied to the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Resolves once {@link hasSynced}.
   * @throws Error after `timeoutMs` ms (when given), or when the informer is stopped first.
   */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject };
      this.syncWaiters.push(entry);
      if (timeoutMs !== undefined) {
        const t = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== entry);
          reject(new Error(`informer ${this.name} not synced after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = entry.resolve;
        entry.resolve = () => {
          clearTimeout(t);
          done();
        };
      }
    });
  }

  /** The cached object, or undefined. O(1). */
  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** The cached object by {@link objectKey}. O(1). */
  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Cached objects, of one namespace or all. */
  list(namespace?: string): T[] {
    return this.cache.list(namespace);
  }

  /** Keys of all cached objects. */
  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** Number of cached objects. */
  size(): number {
    return this.cache.size;
  }

  /** resourceVersion of the last list, watch event or bookmark. */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /** How many lists have succeeded (1 after the initial sync). For diagnostics and tests. */
  listCount(): number {
    return this.relists;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private get stopped(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private async run(): Promise<void> {
    const initial = this.opts.initialBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = initial;
    let needList = true;
    const wait = async (why: string, err: unknown): Promise<void> => {
      this.log.warn({ informer: this.name, backoffMs: backoff, ...errFields(err) }, `${why}; relisting after backoff`);
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, max);
    };
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
          backoff = initial;
        } catch (err) {
          if (this.stopped) break;
          await wait('list failed', err);
          continue;
        }
      }
      const outcome = await this.watchOnce();
      if (this.stopped) break;
      switch (outcome.kind) {
        case 'gone':
          this.log.info({ informer: this.name }, 'watch: resourceVersion too old (410 Gone); relisting');
          needList = true;
          break;
        case 'closed':
          // A watch the server ends after a while is normal: resume from the last resourceVersion. One that ends at
          // once without a single event means the server is going away: relist after backoff.
          if (outcome.events > 0 || outcome.ms >= 1000) {
            this.log.debug({ informer: this.name, events: outcome.events, ms: outcome.ms }, 'watch closed; resuming');
            break;
          }
          needList = true;
          await wait('watch closed at once', new Error('watch closed without events'));
          break;
        case 'error':
          needList = true;
          await wait('watch failed', outcome.err);
          break;
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.stopCtl.signal });
    } catch {
      /* stopped */
    }
  }

  /** Lists everything (paginated) and reconciles the cache with the result, delivering adds/updates/deletes. */
  private async listAndReplace(): Promise<void> {
    let items: T[];
    let rv: string;
    let listKind: string | undefined;
    try {
      ({ items, rv, listKind } = await this.listAll(this.opts.pageSize ?? 500));
    } catch (err) {
      // An expired continue token: list again in one piece.
      if (isGone(err)) ({ items, rv, listKind } = await this.listAll(0));
      else throw err;
    }
    if (this.stopped) return;
    const kind = this.opts.kind ?? (!this.opts.metadataOnly && listKind?.endsWith('List') ? listKind.slice(0, -4) : undefined);
    const seen = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const raw = items[i]!;
      items[i] = undefined as unknown as T; // let each page's object go as soon as it is cached
      if (raw.apiVersion === undefined || this.opts.metadataOnly) raw.apiVersion = this.opts.apiVersion;
      if ((raw.kind === undefined || this.opts.metadataOnly) && kind) raw.kind = kind;
      const key = objectKey(raw);
      seen.add(key);
      const old = this.cache.get(key);
      if (!old) {
        const item = this.store(key, raw);
        this.emitAdd(item);
      } else if (old.metadata?.resourceVersion !== raw.metadata?.resourceVersion) {
        const item = this.store(key, raw);
        this.emitUpdate(old, item);
      }
    }
    for (const [key, old] of this.cache.entries()) {
      if (!seen.has(key)) {
        this.remove(key);
        this.emitDelete(old);
      }
    }
    this.resourceVersion = rv;
    this.relists++;
    this.log.debug({ informer: this.name, objects: items.length, resourceVersion: rv }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  private async listAll(pageSize: number): Promise<{ items: T[]; rv: string; listKind: string | undefined }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    let listKind: string | undefined;
    do {
      const q = new URLSearchParams();
      if (pageSize > 0) q.set('limit', String(pageSize));
      if (cont) q.set('continue', cont);
      if (this.opts.labelSelector) q.set('labelSelector', this.opts.labelSelector);
      if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
      // Rejects with an ApiServerError (a non-2xx status or no answer), or the AbortError when stopped.
      const path = `${this.path}?${q.toString()}`;
      const page = await this.transport.request<ListResponse<T>>({
        method: 'GET',
        path,
        accept: this.accept.list,
        signal: this.stopCtl.signal,
        timeoutMs: this.opts.listTimeoutMs ?? 60_000,
      });
      for (const it of page.items ?? []) items.push(it);
      rv = page.metadata?.resourceVersion ?? rv;
      listKind = page.kind ?? listKind;
      cont = page.metadata?.continue || undefined;
    } while (cont && !this.stopped);
    return { items, rv, listKind };
  }

  /** Runs one watch from the current resourceVersion until it ends; never rejects. */
  private watchOnce(): Promise<WatchOutcome> {
    const [minS, maxS] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(minS + Math.random() * Math.max(0, maxS - minS));
    const started = performance.now();
    let events = 0;
    let gone = false;
    let errorEvent: Error | undefined;
    let finished = false;
    let ctl: AbortController | undefined;

    return new Promise<WatchOutcome>((resolve) => {
      const finish = (o: WatchOutcome): void => {
        if (finished) return;
        finished = true;
        this.currentWatch = undefined;
        ctl?.abort();
        resolve(o);
      };
      const onEvent = (type: string, obj: unknown): void => {
        if (finished || this.stopped) return;
        events++;
        if (type === 'ERROR') {
          const st = (obj ?? {}) as ApiServerStatus;
          if (st.code === 410) gone = true;
          else
            errorEvent = ApiServerError.rejected('WATCH', this.path, st.code ?? 0, {
              ...st,
              message: `ERROR event: ${st.message ?? JSON.stringify(obj)}`,
            });
          finish(gone ? { kind: 'gone' } : { kind: 'error', err: errorEvent });
          return;
        }
        this.applyWatchEvent(type, obj as T);
      };
      const onDone = (err: unknown): void => {
        if (gone) return finish({ kind: 'gone' });
        if (errorEvent) return finish({ kind: 'error', err: errorEvent });
        const e = err as { name?: string } | null | undefined;
        if (!e || e.name === 'TimeoutError' || e.name === 'AbortError') {
          return finish({ kind: 'closed', events, ms: performance.now() - started });
        }
        if (isGone(err)) return finish({ kind: 'gone' });
        finish({ kind: 'error', err });
      };
      const q = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
      if (this.resourceVersion) q.set('resourceVersion', this.resourceVersion);
      if (this.opts.labelSelector) q.set('labelSelector', this.opts.labelSelector);
      if (this.opts.fieldSelector) q.set('fieldSelector', this.opts.fieldSelector);
      ctl = new AbortController();
      this.currentWatch = ctl;
      if (this.stopped) ctl.abort();
      // No byte for longer than the server-side timeout plus a margin: the connection is dead (bookmarks keep a live one busy).
      this.transport
        .watch(
          `${this.path}?${q.toString()}`,
          { accept: this.accept.watch, signal: ctl.signal, idleTimeoutMs: (timeoutSeconds + 30) * 1000 },
          onEvent,
        )
        .then(
          () => onDone(undefined),
          (err: unknown) => onDone(err),
        );
    });
  }

  private applyWatchEvent(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        if (this.opts.metadataOnly) {
          obj.apiVersion = this.opts.apiVersion;
          if (this.opts.kind) obj.kind = this.opts.kind;
        }
        const key = objectKey(obj);
        const old = this.cache.get(key);
        // Already cached at this resourceVersion: the controller's own write, put in by upsert().
        if (old && rv && old.metadata?.resourceVersion === rv) break;
        const item = this.store(key, obj);
        if (old) this.emitUpdate(old, item);
        else this.emitAdd(item);
        break;
      }
      case 'DELETED': {
        const key = objectKey(obj);
        if (this.cache.has(key)) this.remove(key);
        this.emitDelete(obj);
        break;
      }
      case 'BOOKMARK':
        break;
      default:
        this.log.debug({ informer: this.name, type }, 'unknown watch event type');
        return;
    }
    if (rv) this.resourceVersion = rv;
  }

  /**
   * Write-through: caches `obj` — the apiserver's answer to this process' own write — unless the watch has already
   * reached its resourceVersion (then the cache is at least as new, or the object was deleted since). Handlers are
   * not called; the watch event with the same resourceVersion will not be delivered to them either.
   * Only for numeric resourceVersions (etcd's); returns whether it was cached.
   */
  upsert(obj: T): boolean {
    const rv = obj.metadata?.resourceVersion;
    if (!this.synced || !rv || !/^\d+$/.test(rv) || !/^\d+$/.test(this.resourceVersion)) return false;
    if (BigInt(rv) <= BigInt(this.resourceVersion)) return false;
    const key = objectKey(obj);
    const old = this.cache.get(key)?.metadata?.resourceVersion;
    if (old && /^\d+$/.test(old) && BigInt(old) >= BigInt(rv)) return false;
    if (this.opts.metadataOnly) obj = { apiVersion: this.opts.apiVersion, kind: this.opts.kind, metadata: { ...obj.metadata } } as T;
    this.store(key, obj);
    return true;
  }

  private store(key: string, obj: T): T {
    // Like controller-runtime's default cache transform: managedFields are often the largest part of an object and
    // nothing here reads them, so they are dropped before caching (in place: the object is this informer's own copy).
    if (this.opts.keepManagedFields !== true && obj.metadata) delete obj.metadata.managedFields;
    if (this.opts.transform) obj = this.opts.transform(obj);
    this.cache.set(key, obj);
    return obj;
  }

  private remove(key: string): void {
    this.cache.delete(key);
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.cache.values()) this.emitUpdate(obj, obj);
  }

  private emitAdd(obj: T): void {
    for (const h of this.handlers) this.safely('add', () => h.onAdd?.(obj));
  }

  private emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.handlers) this.safely('update', () => h.onUpdate?.(oldObj, newObj));
  }

  private emitDelete(obj: T): void {
    for (const h of this.handlers) this.safely('delete', () => h.onDelete?.(obj));
  }

  private safely(event: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ informer: this.name, event, ...errFields(err) }, 'informer handler threw');
    }
  }
}
