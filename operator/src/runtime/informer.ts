/**
 * A list+watch informer with an in-memory cache, in the manner of client-go's reflector + store + shared informer:
 *
 * - List (paginated, a consistent read) fills the cache; then a watch from the list's resourceVersion keeps it
 *   current (with `allowWatchBookmarks`, so quiet resources still advance their resourceVersion).
 * - A watch that ends normally (server-side `timeoutSeconds`, or client-node's 30 s inactivity timeout) is resumed
 *   from the last resourceVersion without a list, as client-go does. Any failure — a watch or list error, the
 *   apiserver going away, a watch closed instantly, an ERROR event, `410 Gone` — leads to a relist, with
 *   exponential backoff (default 200 ms doubling to 30 s, reset after a successful list; `410 Gone` relists at once).
 *   It keeps trying until {@link Informer.stop}.
 * - A relist is compared with the cache: new objects are delivered as adds, changed ones (other resourceVersion) as
 *   updates, and cached objects missing from the list — deleted while no watch was running — as deletes.
 * - Every `resyncMs` all cached objects are re-delivered as updates (old === new), so controllers re-reconcile them.
 *
 * The list is a raw GET (node:http/https with the KubeConfig's TLS and auth) and the watch is client-node's `Watch`,
 * so cached objects are the apiserver's JSON as is: strings for timestamps, `apiVersion`/`kind` filled in on list
 * items (the apiserver omits them there). client-node's typed list calls would instead turn timestamps into `Date`s,
 * unlike its watch events — mixing the two in one cache is a trap.
 *
 * Cache operations are O(1) by `namespace/name`; `list(namespace)` is O(objects in that namespace).
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { errFields, silentLogger, type RuntimeLogger } from './logger.js';

export interface InformerOptions {
  kubeConfig: KubeConfig;
  /** `v1`, `apps/v1`, `wacloud.io/v1alpha1`. */
  apiVersion: string;
  /** Resource (plural) name: `configmaps`, `statefulsets`, `whatsappinstances`. */
  plural: string;
  /** Kind, used to fill list items' `kind`. Default: the list's kind minus `List`. */
  kind?: string;
  /** Namespace to watch; empty or undefined for all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  /** Label selector, e.g. `app.kubernetes.io/managed-by=wacloud-operator`. */
  labelSelector?: string;
  /** Field selector, e.g. `metadata.name=foo`. */
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often, ms; 0 or undefined disables resync. */
  resyncMs?: number;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** First relist backoff, ms. Default 200. */
  initialBackoffMs?: number;
  /** Maximum relist backoff, ms. Default 30_000. */
  maxBackoffMs?: number;
  /** Timeout of one list page request, ms. Default 60_000. */
  listTimeoutMs?: number;
  /** Server-side watch timeout range, s (a random value in it per watch, as client-go). Default [300, 600]. */
  watchTimeoutSeconds?: [number, number];
  /** Name for logs. Default `<plural>`. */
  name?: string;
  /** Keep `metadata.managedFields` in cached objects (default: dropped, saving memory). */
  keepManagedFields?: boolean;
  logger?: RuntimeLogger;
}

/** Event handlers; exceptions they throw are logged and otherwise ignored. */
export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  /** `oldObj === newObj` on a periodic resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The last known state of the object (the deleted object from the watch, or the cached one after a relist). */
  onDelete?(obj: T): void;
}

/** An HTTP error status from the apiserver (`statusCode`), with the Status `reason` and `message` when present. */
export class KubeHttpError extends Error {
  override name = 'KubeHttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

interface ListResponse<T> {
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

type WatchOutcome = { kind: 'closed'; events: number; ms: number } | { kind: 'gone' } | { kind: 'error'; err: unknown };

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a {@link objectKey} into namespace ('' if none) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** See the module comment. */
export class Informer<T extends KubernetesObject> {
  readonly name: string;
  private readonly kc: KubeConfig;
  private readonly opts: InformerOptions;
  private readonly log: RuntimeLogger;
  private readonly path: string;
  private readonly watcher: Watch;

  /** key → object */
  private readonly cache = new Map<string, T>();
  /** namespace → name → object, for `list(namespace)`. */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers = new Set<InformerHandlers<T>>();

  private resourceVersion = '';
  private synced = false;
  private syncWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private running: Promise<void> | undefined;
  private stopCtl = new AbortController();
  private currentWatch: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relists = 0;

  constructor(opts: InformerOptions) {
    this.opts = opts;
    this.kc = opts.kubeConfig;
    this.name = opts.name ?? opts.plural;
    this.log = opts.logger ?? silentLogger;
    const prefix = opts.apiVersion.includes('/') ? `/apis/${opts.apiVersion}` : `/api/${opts.apiVersion}`;
    this.path = opts.namespace ? `${prefix}/namespaces/${encodeURIComponent(opts.namespace)}/${opts.plural}` : `${prefix}/${opts.plural}`;
    this.watcher = new Watch(this.kc);
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
    if (namespace === undefined || namespace === '') return [...this.cache.values()];
    const m = this.byNamespace.get(namespace);
    return m ? [...m.values()] : [];
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
      if (err instanceof KubeHttpError && err.statusCode === 410) ({ items, rv, listKind } = await this.listAll(0));
      else throw err;
    }
    if (this.stopped) return;
    const kind = this.opts.kind ?? (listKind?.endsWith('List') ? listKind.slice(0, -4) : undefined);
    const seen = new Set<string>();
    for (const item of items) {
      if (item.apiVersion === undefined) item.apiVersion = this.opts.apiVersion;
      if (item.kind === undefined && kind) item.kind = kind;
      const key = objectKey(item);
      seen.add(key);
      const old = this.cache.get(key);
      if (!old) {
        this.store(key, item);
        this.emitAdd(item);
      } else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        this.store(key, item);
        this.emitUpdate(old, item);
      }
    }
    for (const [key, old] of this.cache) {
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
      const page = (await this.getJson(`${this.path}?${q.toString()}`)) as ListResponse<T>;
      for (const it of page.items ?? []) items.push(it);
      rv = page.metadata?.resourceVersion ?? rv;
      listKind = page.kind ?? listKind;
      cont = page.metadata?.continue || undefined;
    } while (cont && !this.stopped);
    return { items, rv, listKind };
  }

  /**
   * GET `path` on the current cluster as JSON.
   * @throws KubeHttpError on a non-2xx status; Error on network errors, timeouts and when stopped.
   */
  private async getJson(path: string): Promise<unknown> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('KubeConfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const timeout = this.opts.listTimeoutMs ?? 60_000;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, signal: this.stopCtl.signal, timeout }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300 && parsed !== undefined) return resolve(parsed);
          const st = (parsed ?? {}) as { message?: string; reason?: string };
          reject(new KubeHttpError(status, `GET ${path}: HTTP ${status}: ${st.message ?? body.slice(0, 200)}`, st.reason));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: no response within ${timeout} ms`)));
      req.on('error', reject);
      req.end();
    });
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
          const st = (obj ?? {}) as { code?: number; message?: string; reason?: string };
          if (st.code === 410) gone = true;
          else errorEvent = new KubeHttpError(st.code ?? 0, `watch ERROR event: ${st.message ?? JSON.stringify(obj)}`, st.reason);
          finish(gone ? { kind: 'gone' } : { kind: 'error', err: errorEvent });
          return;
        }
        this.applyWatchEvent(type, obj as T);
      };
      const onDone = (err: unknown): void => {
        if (gone) return finish({ kind: 'gone' });
        if (errorEvent) return finish({ kind: 'error', err: errorEvent });
        const e = err as { name?: string; statusCode?: number; code?: number } | null | undefined;
        if (!e || e.name === 'TimeoutError' || e.name === 'AbortError') {
          return finish({ kind: 'closed', events, ms: performance.now() - started });
        }
        if (e.statusCode === 410 || e.code === 410) return finish({ kind: 'gone' });
        finish({ kind: 'error', err });
      };
      const params: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.resourceVersion || undefined,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: this.opts.labelSelector || undefined,
        fieldSelector: this.opts.fieldSelector || undefined,
      };
      this.watcher.watch(this.path, params, onEvent, onDone).then(
        (c) => {
          ctl = c;
          if (finished || this.stopped) c.abort();
          else this.currentWatch = c;
          if (this.stopped) finish({ kind: 'closed', events, ms: 0 });
        },
        (err: unknown) => finish({ kind: 'error', err }),
      );
    });
  }

  private applyWatchEvent(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKey(obj);
        const old = this.cache.get(key);
        this.store(key, obj);
        if (old) this.emitUpdate(old, obj);
        else this.emitAdd(obj);
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

  private store(key: string, obj: T): void {
    // Like controller-runtime's default cache transform: managedFields are often the largest part of an object and
    // nothing here reads them, so they are dropped before caching (in place: the object is this informer's own copy).
    if (this.opts.keepManagedFields !== true && obj.metadata) delete obj.metadata.managedFields;
    this.cache.set(key, obj);
    const ns = obj.metadata?.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(obj.metadata?.name ?? '', obj);
  }

  private remove(key: string): void {
    const obj = this.cache.get(key);
    this.cache.delete(key);
    if (!obj) return;
    const ns = obj.metadata?.namespace ?? '';
    const m = this.byNamespace.get(ns);
    m?.delete(obj.metadata?.name ?? '');
    if (m && m.size === 0) this.byNamespace.delete(ns);
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
