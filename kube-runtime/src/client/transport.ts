/**
 * The connection to the Kubernetes API: one keep-alive `node:https` connection pool per cluster configuration,
 * shared by everything that talks to that cluster (informers' list + watch, {@link KubeClient}, leader election).
 *
 * Why not @kubernetes/client-node at run time: importing it loads its whole generated API (every model and API
 * class) — about 90 MiB of resident memory before the first request — and its request path makes a new undici Agent
 * per call. Here client-node is used for its types only, and loaded lazily when a kubeconfig needs an authenticator
 * this package does not implement (kubeconfig.ts).
 *
 * Failures are {@link ApiServerError}s: `rejected` for a non-2xx answer, `unreachable` for a network error, a
 * timeout or a broken response. An abort through the caller's own `signal` rejects with the AbortError as is.
 */
import { readFileSync } from 'node:fs';
import type * as NodeHttp from 'node:http';
import https from 'node:https';
import { ApiServerError, type ApiServerStatus } from './errors.js';
import { needsClientNode, type KubeConfigLike, type KubeUserLike } from './kubeconfig.js';
import { lineSplitter } from './lines.js';
import { createRequire } from 'node:module';

/**
 * `node:http` loaded with require: an ESM import of it reads every export, and its lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` getters load undici (~8 MiB of resident memory in a process that never uses them).
 */
const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with query, e.g. `/api/v1/namespaces/x/secrets?limit=500`. */
  path: string;
  /** JSON-serialised when present. */
  body?: unknown;
  contentType?: string;
  /** Default `application/json`. */
  accept?: string;
  signal?: AbortSignal;
  /** No response (headers and body) within this long, ms. Default 30_000. */
  timeoutMs?: number;
}

const TOKEN_FILE_TTL_MS = 60_000;

/** See the module comment. One instance per configuration: {@link KubeTransport.for}. */
export class KubeTransport {
  private static readonly byConfig = new WeakMap<KubeConfigLike, KubeTransport>();

  /** The shared transport of `kc` (created on first use). */
  static for(kc: KubeConfigLike): KubeTransport {
    let t = KubeTransport.byConfig.get(kc);
    if (!t) KubeTransport.byConfig.set(kc, (t = new KubeTransport(kc)));
    return t;
  }

  private readonly url: URL;
  private readonly mod: typeof https | typeof http;
  private agent: https.Agent | NodeHttp.Agent | undefined;
  private readonly user: KubeUserLike;
  private tokenCache: { value: string; readAt: number } | undefined;

  private constructor(private readonly kc: KubeConfigLike) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.url = new URL(cluster.server.replace(/\/+$/, ''));
    this.mod = this.url.protocol === 'https:' ? https : http;
    this.user = kc.getCurrentUser() ?? {};
  }

  /** The keep-alive pool (TLS from the cluster CA and the user's client certificate). Unbounded sockets, like client-go's default. */
  private getAgent(): https.Agent | NodeHttp.Agent {
    if (this.agent) return this.agent;
    if (this.mod === http) return (this.agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 }));
    const cluster = this.kc.getCurrentCluster()!;
    const buf = (file: string | undefined, data: string | undefined) =>
      file ? readFileSync(file) : data ? Buffer.from(data, 'base64') : undefined;
    return (this.agent = new https.Agent({
      keepAlive: true,
      keepAliveMsecs: 30_000,
      ca: buf(cluster.caFile, cluster.caData),
      cert: buf(this.user.certFile, this.user.certData),
      key: buf(this.user.keyFile, this.user.keyData),
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    }));
  }

  /** Authentication headers for one request. */
  private async authHeaders(): Promise<Record<string, string>> {
    const u = this.user;
    if (needsClientNode(u) && this.kc.applyToHTTPSOptions) {
      const opts: https.RequestOptions = { headers: {} };
      await this.kc.applyToHTTPSOptions(opts);
      const h = (opts.headers ?? {}) as Record<string, string>;
      return h.Authorization ? { authorization: h.Authorization } : h.authorization ? { authorization: h.authorization } : {};
    }
    const tokenFile = u.tokenFile ?? (u.authProvider?.name === 'tokenFile' ? u.authProvider.config?.tokenFile : undefined);
    if (tokenFile) {
      const now = performance.now();
      if (!this.tokenCache || now - this.tokenCache.readAt > TOKEN_FILE_TTL_MS)
        this.tokenCache = { value: readFileSync(tokenFile, 'utf8').trim(), readAt: now };
      return { authorization: `Bearer ${this.tokenCache.value}` };
    }
    if (u.token) return { authorization: `Bearer ${u.token}` };
    if (u.username) return { authorization: `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}` };
    return {};
  }

  /**
   * Sends one request. `res` resolves with the response head; it rejects with an `unreachable` ApiServerError on a
   * network error or when no response head arrived within `timeoutMs`, and with the AbortError when `signal` aborted.
   */
  private async open(
    r: TransportRequest,
    label: string = r.method,
  ): Promise<{ req: NodeHttp.ClientRequest; res: Promise<NodeHttp.IncomingMessage> }> {
    const headers: Record<string, string> = { accept: r.accept ?? 'application/json', ...(await this.authHeaders()) };
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    if (payload) {
      headers['content-type'] = r.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = this.mod.request(this.url.origin + this.url.pathname.replace(/\/+$/, '') + r.path, {
      method: r.method,
      headers,
      agent: this.getAgent(),
      signal: r.signal,
    });
    const res = new Promise<NodeHttp.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.on('error', (e) => reject(this.failure(r, label, e)));
    });
    const timeout = r.timeoutMs ?? 30_000;
    const timer = setTimeout(() => req.destroy(ApiServerError.unreachable(label, r.path, `no response within ${timeout} ms`)), timeout);
    res.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    req.end(payload);
    return { req, res };
  }

  /** A connection-level error as thrown to the caller: the caller's own abort as is, anything else `unreachable`. */
  private failure(r: TransportRequest, label: string, e: unknown): unknown {
    if (r.signal?.aborted || (e as { name?: string }).name === 'ApiServerError') return e;
    const err = e as { code?: string; message?: string };
    return ApiServerError.unreachable(label, r.path, err.message || err.code || String(e), e);
  }

  /**
   * One request; resolves with the parsed JSON body (undefined when empty).
   * @throws ApiServerError `rejected` for a non-2xx status; `unreachable` on network errors, timeouts (`timeoutMs`,
   * default 30_000 ms, for the head and again for the body) and broken responses; the AbortError when `signal` aborts.
   */
  async request<T>(r: TransportRequest): Promise<T> {
    const { req, res: resP } = await this.open(r);
    const res = await resP;
    const timeout = r.timeoutMs ?? 30_000;
    const chunks: Buffer[] = [];
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => req.destroy(ApiServerError.unreachable(r.method, r.path, `body not complete within ${timeout} ms`)),
        timeout,
      );
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(this.failure(r, r.method, e));
      });
      res.once('aborted', () => {
        clearTimeout(timer);
        reject(this.failure(r, r.method, new Error('response aborted')));
      });
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw ApiServerError.rejected(r.method, r.path, status, parseStatus(text));
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return parsed as T;
  }

  /**
   * A watch: GET `path` (with `watch=true` in its query) streaming one JSON event per line to `onEvent`.
   * Resolves when the server ends the stream, `signal` aborts, or no byte arrived for `idleTimeoutMs`.
   * @throws ApiServerError `rejected` (method `WATCH`) for a non-2xx answer; `unreachable` when the connection
   * fails or breaks (a reset stream counts as ended).
   */
  async watch(
    path: string,
    o: { accept?: string; signal: AbortSignal; idleTimeoutMs: number },
    onEvent: (type: string, object: unknown) => void,
  ): Promise<void> {
    const r: TransportRequest = { method: 'GET', path, accept: o.accept, signal: o.signal, timeoutMs: o.idleTimeoutMs };
    const { req, res: resP } = await this.open(r, 'WATCH');
    const res = await resP;
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw ApiServerError.rejected('WATCH', path, res.statusCode ?? 0, parseStatus(Buffer.concat(chunks).toString('utf8')));
    }
    await new Promise<void>((resolve, reject) => {
      const idle = setTimeout(() => req.destroy(), o.idleTimeoutMs);
      const feed = lineSplitter((text) => {
        if (!text.trim()) return true;
        let ev: { type?: string; object?: unknown };
        try {
          ev = JSON.parse(text) as typeof ev;
        } catch (err) {
          req.destroy(err as Error);
          return false;
        }
        onEvent(ev.type ?? '', ev.object);
        return true;
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        idle.refresh();
        feed(chunk);
      });
      const end = (err?: unknown) => {
        clearTimeout(idle);
        if (err && !o.signal.aborted) reject(this.failure(r, 'WATCH', err));
        else resolve();
      };
      res.once('end', () => end());
      res.once('close', () => end());
      res.on('error', (e) => end((e as { code?: string }).code === 'ECONNRESET' || (e as Error).name === 'AbortError' ? undefined : e));
    });
  }
}

/** The Status object of an error answer; a non-JSON body becomes `{ message: <its first 200 characters> }`. */
function parseStatus(text: string): ApiServerStatus {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') return v as ApiServerStatus;
  } catch {
    /* not JSON */
  }
  return { message: text.slice(0, 200) };
}
