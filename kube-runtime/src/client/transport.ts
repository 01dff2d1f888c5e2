/**
 * The connection to the Kubernetes API: one keep-alive undici `Pool` per cluster configuration, shared by everything
 * that talks to that cluster (informers' list + watch, {@link KubeClient}, leader election). Requests go through the
 * pool's `dispatch` with the handlers of dispatch.ts, not undici's `request` nor `node:https`: a request costs about
 * half the CPU of `node:https` with a keep-alive Agent (0.24 against 0.46–0.51 ms per POST of a 3 kB body in a local
 * benchmark under the operator's V8 flags; the operator's own figures in operator/README.md, "Memory").
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
import type * as NodeHttps from 'node:https';
import { Pool } from 'undici';
import { ApiServerError, type ApiServerStatus } from './errors.js';
import { collectAnswer, streamAnswer, type Dispatched } from './dispatch.js';
import { needsClientNode, type KubeConfigLike, type KubeUserLike } from './kubeconfig.js';
import { lineSplitter } from './lines.js';

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
  /** No response head within this long, and then no byte of the body for this long, ms. Default 30_000. */
  timeoutMs?: number;
}

const TOKEN_FILE_TTL_MS = 60_000;
/**
 * How long an idle connection is kept, ms: under the apiserver's own idle timeout (Go's `http.Server` of
 * kube-apiserver closes idle keep-alive connections after 90 s), so a request is not sent on a connection the server
 * is closing.
 */
const KEEP_ALIVE_MS = 60_000;

/** See the module comment. One instance per configuration: {@link KubeTransport.for}. */
export class KubeTransport {
  private static readonly byConfig = new WeakMap<KubeConfigLike, KubeTransport>();

  /** The shared transport of `kc` (created on first use). */
  static for(kc: KubeConfigLike): KubeTransport {
    let t = KubeTransport.byConfig.get(kc);
    if (!t) KubeTransport.byConfig.set(kc, (t = new KubeTransport(kc)));
    return t;
  }

  private readonly origin: string;
  /** The server URL's path without its trailing slashes ('' for most clusters), put before every request's path. */
  private readonly basePath: string;
  private pool: Pool | undefined;
  private readonly user: KubeUserLike;
  private tokenCache: { value: string; readAt: number } | undefined;

  private constructor(private readonly kc: KubeConfigLike) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.user = kc.getCurrentUser() ?? {};
  }

  /**
   * The keep-alive pool (TLS from the cluster CA and the user's client certificate). Unbounded connections, like
   * client-go's default: every watch holds one for its life. HTTP/1.1 only (`allowH2: false`; undici 8 offers h2 by
   * default and the apiserver takes it): on one multiplexed connection the operator's create benchmark saw its
   * children's StatefulSets 0.98 s after their instance at the median instead of 0.12 s (operator/README.md, "Memory").
   */
  private getPool(): Pool {
    if (this.pool) return this.pool;
    const cluster = this.kc.getCurrentCluster()!;
    const buf = (file: string | undefined, data: string | undefined) =>
      file ? readFileSync(file) : data ? Buffer.from(data, 'base64') : undefined;
    const tls = this.origin.startsWith('https:')
      ? {
          ca: buf(cluster.caFile, cluster.caData),
          cert: buf(this.user.certFile, this.user.certData),
          key: buf(this.user.keyFile, this.user.keyData),
          ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
          ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
        }
      : {};
    return (this.pool = new Pool(this.origin, {
      connections: null,
      allowH2: false,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
      connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 },
    }));
  }

  /** Authentication headers for one request. */
  private async authHeaders(): Promise<Record<string, string>> {
    const u = this.user;
    if (needsClientNode(u) && this.kc.applyToHTTPSOptions) {
      const opts: NodeHttps.RequestOptions = { headers: {} };
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

  /** The dispatch of one request (headers, body, time limits); `label` names it in errors (the method, or `WATCH`). */
  private async dispatched(r: TransportRequest, label: string): Promise<Dispatched> {
    const headers: Record<string, string> = { accept: r.accept ?? 'application/json', ...(await this.authHeaders()) };
    const body = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    if (body) headers['content-type'] = r.contentType ?? 'application/json';
    const timeoutMs = r.timeoutMs ?? 30_000;
    return {
      dispatcher: this.getPool(),
      opts: { method: r.method, path: this.basePath + r.path, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      signal: r.signal,
      failure: (e) => this.failure(r, label, e, timeoutMs),
    };
  }

  /**
   * A connection-level error as thrown to the caller: the caller's own abort as is, anything else `unreachable`
   * (undici's time limits with the time, as "no response within … ms" / "no byte of the body within … ms").
   */
  private failure(r: TransportRequest, label: string, e: unknown, timeoutMs: number): unknown {
    if (r.signal?.aborted || (e as { name?: string }).name === 'ApiServerError') return e;
    const err = e as { code?: string; message?: string };
    const message =
      err.code === 'UND_ERR_HEADERS_TIMEOUT'
        ? `no response within ${timeoutMs} ms`
        : err.code === 'UND_ERR_BODY_TIMEOUT'
          ? `no byte of the body within ${timeoutMs} ms`
          : (err.message && err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message) ||
            err.code ||
            String(e);
    return ApiServerError.unreachable(label, r.path, message, e);
  }

  /**
   * One request; resolves with the parsed JSON body (undefined when empty or not JSON).
   * @throws ApiServerError `rejected` for a non-2xx status; `unreachable` on network errors, timeouts (`timeoutMs`,
   * default 30_000 ms, for the head and then between the body's bytes) and broken responses; the AbortError when
   * `signal` aborts.
   */
  async request<T>(r: TransportRequest): Promise<T> {
    const answer = await collectAnswer(await this.dispatched(r, r.method));
    const text = answer.body.toString('utf8');
    if (answer.statusCode < 200 || answer.statusCode >= 300)
      throw ApiServerError.rejected(r.method, r.path, answer.statusCode, parseStatus(text));
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
   * fails, no response head arrives within `idleTimeoutMs`, or a line is not JSON (a stream the server or the
   * network broke off counts as ended).
   */
  async watch(
    path: string,
    o: { accept?: string; signal: AbortSignal; idleTimeoutMs: number },
    onEvent: (type: string, object: unknown) => void,
  ): Promise<void> {
    const r: TransportRequest = { method: 'GET', path, accept: o.accept, signal: o.signal, timeoutMs: o.idleTimeoutMs };
    let broken: Error | undefined; // a line that is not JSON
    const feed = lineSplitter((text) => {
      if (!text.trim()) return true;
      let ev: { type?: string; object?: unknown };
      try {
        ev = JSON.parse(text) as typeof ev;
      } catch (err) {
        broken = err as Error;
        return false;
      }
      onEvent(ev.type ?? '', ev.object);
      return true;
    });
    const ended = await streamAnswer(await this.dispatched(r, 'WATCH'), (chunk) => {
      feed(chunk);
      return broken;
    });
    if (ended.statusCode < 200 || ended.statusCode >= 300)
      throw ApiServerError.rejected('WATCH', path, ended.statusCode, parseStatus(ended.body.toString('utf8')));
    if (ended.error === undefined || o.signal.aborted) return;
    if (ended.error === broken || !isStreamEnd(ended.error)) throw this.failure(r, 'WATCH', ended.error, o.idleTimeoutMs);
  }
}

/**
 * Errors that end a watch's stream as the server's own end would: the connection reset or closed by the other side
 * mid-stream (undici's `SocketError`), or no byte for the idle time (its `BodyTimeoutError`). The informer watches
 * again from its last resourceVersion.
 */
function isStreamEnd(e: Error): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_BODY_TIMEOUT' || e.name === 'AbortError';
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
