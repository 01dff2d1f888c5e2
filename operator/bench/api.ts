/**
 * The benchmarks' own Kubernetes client: plain JSON over one keep-alive undici Agent (connections are reused, so the
 * load generator does not pay a TLS handshake per request), authenticated with the admin's bearer token. Also:
 * a bounded-concurrency runner, an "arrival" watch that timestamps when each object of a collection first appears
 * (or first satisfies a predicate), collection counts, and the apiserver's request counters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';

/** A Kubernetes object as far as the benchmarks care. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface ObjectList {
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items?: KubeObject[];
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; message?: string };
}

/** A non-2xx answer of the apiserver. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiRequestOptions {
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

/** See the module comment. */
export class BenchApi {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;

  /** `server` is the apiserver URL; `token` a bearer token; `ca` the PEM CA of its serving certificate. */
  constructor(server: string, token: string, ca?: Buffer) {
    const url = new URL(server);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
    this.agent = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 30_000 });
  }

  /** A client for the current context of `kc` (token authentication only, which is what testenv uses). */
  static fromKubeConfig(kc: KubeConfig): BenchApi {
    const cluster = kc.getCurrentCluster();
    const token = kc.getCurrentUser()?.token;
    if (!cluster || !token) throw new Error('BenchApi needs a kubeconfig with a current cluster and a token user');
    const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined;
    return new BenchApi(cluster.server, token, ca);
  }

  /** One API call; resolves with the parsed JSON body. @throws ApiError for non-2xx. */
  async request<T>(method: Dispatcher.HttpMethod, path: string, o: ApiRequestOptions = {}): Promise<T> {
    const res = await this.agent.request({
      origin: this.origin,
      path: this.basePath + withQuery(path, o.query),
      method,
      headers: o.body === undefined ? this.headers : { ...this.headers, 'content-type': o.contentType ?? 'application/json' },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new ApiError(res.statusCode, `${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** POST `obj` to the collection `path`. */
  create(path: string, obj: KubeObject): Promise<KubeObject> {
    return this.request('POST', path, { body: obj });
  }

  /** Server-side apply of `obj` at the object path `path`, forcing ownership (as the operator does). */
  apply(path: string, obj: KubeObject, fieldManager: string): Promise<KubeObject> {
    return this.request('PATCH', path, { body: obj, contentType: 'application/apply-patch+yaml', query: { fieldManager, force: true } });
  }

  /** Creates namespace `name` (ignores 409). */
  async createNamespace(name: string): Promise<void> {
    try {
      await this.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (err) {
      if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
    }
  }

  /** Every object of the collection `path` (paginated) and the list's resourceVersion. */
  async listAll(path: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<ObjectList>('GET', path, { query: { limit: 500, continue: cont } });
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /** Number of objects in the collection `path`: one `limit=1` list (remainingItemCount), else a full list. */
  async count(path: string): Promise<number> {
    const page = await this.request<ObjectList>('GET', path, { query: { limit: 1 } });
    const n = page.items?.length ?? 0;
    if (!page.metadata?.continue) return n;
    if (page.metadata.remainingItemCount !== undefined) return n + page.metadata.remainingItemCount;
    return (await this.listAll(path)).items.length;
  }

  /**
   * Watch events of the collection `path` from `resourceVersion` until the server ends the watch or `signal` aborts.
   * @throws ApiError when the watch cannot be opened (410 when the resourceVersion is too old).
   */
  async *watch(path: string, resourceVersion: string, signal: AbortSignal): AsyncGenerator<WatchEvent> {
    const res = await this.agent.request({
      origin: this.origin,
      path: this.basePath + withQuery(path, { watch: 1, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 600 }),
      method: 'GET',
      headers: this.headers,
      signal,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200)
      throw new ApiError(res.statusCode, `WATCH ${path}: ${res.statusCode} ${(await res.body.text()).slice(0, 500)}`);
    res.body.setEncoding('utf8');
    let buf = '';
    for await (const chunk of res.body as AsyncIterable<string>) {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) yield JSON.parse(line) as WatchEvent;
      }
    }
  }

  /**
   * `apiserver_request_total` from the apiserver's /metrics summed by `VERB resource[/subresource]` (codes and
   * scopes merged), e.g. `PATCH statefulsets` → 500.
   */
  async requestCounts(): Promise<Map<string, number>> {
    const res = await this.agent.request({
      origin: this.origin,
      path: `${this.basePath}/metrics`,
      method: 'GET',
      headers: { ...this.headers, accept: 'text/plain' },
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ApiError(res.statusCode, `GET /metrics: ${res.statusCode}`);
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const labels = parseLabels(line);
      const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : (labels.resource ?? '');
      const key = `${labels.verb ?? '?'} ${resource}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return counts;
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** `{a="x",b="y"}` labels of one Prometheus sample line. */
export function parseLabels(line: string): Record<string, string> {
  const open = line.indexOf('{');
  const close = line.lastIndexOf('}');
  if (open < 0 || close < open) return {};
  return Object.fromEntries([...line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
}

function withQuery(path: string, query: ApiRequestOptions['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight (a handful of clients, each sending its next
 * request when the previous one answered). Rejects with the first error (the other clients stop taking items).
 */
export async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const client = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, client));
}

/**
 * Watches a collection and records, per object name, the `performance.now()` time (ms) at which it was first seen
 * satisfying `accept` (default: existing). Objects already there at start count as arrived at start.
 * Resumes a watch the server ends; relists after `410 Gone`.
 */
export class ArrivalWatch {
  /** name → performance.now() ms of arrival. */
  readonly arrivals = new Map<string, number>();
  private readonly stopCtl = new AbortController();
  private readonly waiters = new Set<() => void>();
  private loop: Promise<void> | undefined;
  private resourceVersion = '';
  private lastError: unknown;

  private constructor(
    private readonly api: BenchApi,
    private readonly path: string,
    private readonly accept: (obj: KubeObject) => boolean,
  ) {}

  /** Lists `path`, then watches it in the background; resolves once the watch loop runs. */
  static async start(api: BenchApi, path: string, accept: (obj: KubeObject) => boolean = () => true): Promise<ArrivalWatch> {
    const w = new ArrivalWatch(api, path, accept);
    await w.relist();
    w.loop = w.run();
    return w;
  }

  /** Number of arrived objects. */
  get count(): number {
    return this.arrivals.size;
  }

  /**
   * Resolves with the performance.now() time (ms) at which the `n`-th object arrived.
   * @throws Error after `timeoutMs` ms, or when nothing arrived for `stallMs` ms, naming how many had arrived.
   */
  async waitFor(n: number, timeoutMs: number, onProgress?: (count: number) => void, stallMs = 120_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let lastReport = performance.now();
    let lastCount = this.arrivals.size;
    let lastChange = performance.now();
    while (this.arrivals.size < n) {
      const now = performance.now();
      if (this.arrivals.size !== lastCount) [lastCount, lastChange] = [this.arrivals.size, now];
      const why = now > deadline ? `after ${timeoutMs} ms` : now - lastChange > stallMs ? `and none more for ${stallMs} ms` : undefined;
      if (why) throw new Error(`${this.path}: ${this.arrivals.size} of ${n} arrived ${why} (last watch error: ${String(this.lastError)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, 1000);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.add(done);
      });
      this.waiters.clear();
      if (onProgress && performance.now() - lastReport >= 5000) {
        lastReport = performance.now();
        onProgress(this.arrivals.size);
      }
    }
    return Math.max(...this.arrivals.values());
  }

  /** Ends the watch. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
  }

  private see(obj: KubeObject): void {
    const name = obj.metadata?.name;
    if (!name || this.arrivals.has(name) || !this.accept(obj)) return;
    this.arrivals.set(name, performance.now());
    for (const w of this.waiters) w();
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.api.listAll(this.path);
    for (const it of items) this.see(it);
    this.resourceVersion = resourceVersion;
  }

  private async run(): Promise<void> {
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      try {
        for await (const ev of this.api.watch(this.path, this.resourceVersion, signal)) {
          if (ev.type === 'ERROR') throw new ApiError(ev.object.code ?? 500, `watch ERROR event: ${ev.object.message ?? ''}`);
          this.resourceVersion = ev.object.metadata?.resourceVersion ?? this.resourceVersion;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.see(ev.object);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.lastError = err;
        await sleep(200);
        if (err instanceof ApiError && err.statusCode === 410) await this.relist().catch((e: unknown) => (this.lastError = e));
      }
    }
  }
}
