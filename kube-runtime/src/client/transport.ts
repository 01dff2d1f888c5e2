/**
 * The operator's connection to the Kubernetes API: one keep-alive `node:https` connection pool per cluster
 * configuration, shared by the informers (list + watch), the client (apply, patch, events) and leader election.
 *
 * Why not @kubernetes/client-node at run time: importing it loads its whole generated API (every model and API
 * class) — about 90 MiB of resident memory before the first request — and its request path makes a new undici Agent
 * per call. Here client-node is used for its types only, and loaded lazily as a fallback when a kubeconfig needs an
 * authenticator this module does not implement (exec plugins, OIDC, cloud auth providers).
 *
 * {@link loadKubeConfig} reads the configuration the way client-node's `loadFromDefault` does (`KUBECONFIG`, else
 * `~/.kube/config`, else the pod's ServiceAccount) for the common cases: bearer tokens (inline or a token file,
 * re-read every minute as projected ServiceAccount tokens rotate), client certificates, basic auth, CA and
 * `insecure-skip-tls-verify`. Any object shaped like client-node's `KubeConfig` ({@link KubeConfigLike}) is accepted
 * too (the tests pass testenv's).
 */
import { readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** The cluster part of a kubeconfig, in client-node's field names. */
export interface KubeClusterLike {
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  tlsServerName?: string;
}

/** The user part of a kubeconfig, in client-node's field names (`authProvider`/`exec` need client-node). */
export interface KubeUserLike {
  token?: string;
  /** Not a client-node field: a bearer token file (kubeconfig `tokenFile`, or the in-cluster ServiceAccount token). */
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  authProvider?: { name?: string; config?: Record<string, string> };
  exec?: unknown;
}

/** What the operator needs of a kubeconfig; client-node's `KubeConfig` satisfies it. */
export interface KubeConfigLike {
  getCurrentCluster(): KubeClusterLike | null;
  getCurrentUser(): KubeUserLike | null;
  /** client-node only: sets TLS options and headers (used for authenticators not implemented here). */
  applyToHTTPSOptions?(opts: https.RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A plain kubeconfig: the current context's cluster and user. */
class PlainKubeConfig implements KubeConfigLike {
  constructor(
    private readonly cluster: KubeClusterLike,
    private readonly user: KubeUserLike,
  ) {}
  getCurrentCluster(): KubeClusterLike {
    return this.cluster;
  }
  getCurrentUser(): KubeUserLike {
    return this.user;
  }
}

function needsClientNode(u: KubeUserLike): boolean {
  return Boolean(u.exec) || (u.authProvider !== undefined && u.authProvider.name !== 'tokenFile');
}

const abs = (dir: string, file: string | undefined) => (file === undefined || path.isAbsolute(file) ? file : path.join(dir, file));

/**
 * Parses one kubeconfig file (YAML or JSON) into the current context's cluster and user.
 * @returns undefined when the user needs an authenticator only client-node has.
 * @throws Error when the current context, cluster or user is missing.
 */
export function parseKubeConfigFile(file: string, contextName?: string): KubeConfigLike | undefined {
  // js-yaml is client-node's own dependency: resolved from there, so hoisting does not matter.
  const yaml = createRequire(createRequire(import.meta.url).resolve('@kubernetes/client-node'))('js-yaml') as { load(s: string): unknown };
  type Named<T> = Array<{ name: string } & T>;
  const doc = yaml.load(readFileSync(file, 'utf8')) as {
    'current-context'?: string;
    contexts?: Named<{ context: { cluster: string; user: string } }>;
    clusters?: Named<{ cluster: Record<string, unknown> }>;
    users?: Named<{ user?: Record<string, unknown> }>;
  };
  const ctxName = contextName ?? doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig ${file}: no context ${ctxName ?? '(current-context unset)'}`);
  const c = doc.clusters?.find((x) => x.name === ctx.cluster)?.cluster;
  if (!c) throw new Error(`kubeconfig ${file}: no cluster ${ctx.cluster}`);
  const u = doc.users?.find((x) => x.name === ctx.user)?.user ?? {};
  const dir = path.dirname(file);
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const cluster: KubeClusterLike = {
    server: String(c.server),
    caData: s(c['certificate-authority-data']),
    caFile: abs(dir, s(c['certificate-authority'])),
    skipTLSVerify: c['insecure-skip-tls-verify'] === true,
    tlsServerName: s(c['tls-server-name']),
  };
  const user: KubeUserLike = {
    token: s(u.token),
    tokenFile: abs(dir, s(u.tokenFile)),
    certData: s(u['client-certificate-data']),
    certFile: abs(dir, s(u['client-certificate'])),
    keyData: s(u['client-key-data']),
    keyFile: abs(dir, s(u['client-key'])),
    username: s(u.username),
    password: s(u.password),
    exec: u.exec,
    authProvider: u['auth-provider'] as KubeUserLike['authProvider'],
  };
  return needsClientNode(user) ? undefined : new PlainKubeConfig(cluster, user);
}

/**
 * The configuration client-node's `loadFromDefault` would pick: the first file of `KUBECONFIG`, else
 * `~/.kube/config`, else the pod's ServiceAccount. Falls back to client-node itself (loaded only then) for exec
 * plugins and auth providers, and for a `KUBECONFIG` listing several files (merged by client-node).
 */
export async function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): Promise<KubeConfigLike> {
  const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const home = path.join(os.homedir(), '.kube', 'config');
  const file = files.length === 1 ? files[0] : files.length === 0 && existsSync(home) ? home : undefined;
  if (file) {
    const kc = parseKubeConfigFile(file);
    if (kc) return kc;
  } else if (files.length === 0 && env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(':') ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    return new PlainKubeConfig({ server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`, caFile: `${SA_DIR}/ca.crt` }, { tokenFile: `${SA_DIR}/token` });
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc as unknown as KubeConfigLike;
}

/** A non-2xx answer of the apiserver: HTTP status and, when the body is a Status, its reason and message. */
export class KubeStatusError extends Error {
  override name = 'KubeStatusError';
  constructor(
    readonly statusCode: number,
    readonly status: { reason?: string; message?: string; details?: unknown; code?: number } | undefined,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${status?.reason ?? ''} ${status?.message ?? ''}`.trim());
  }
}

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
  private agent: https.Agent | http.Agent | undefined;
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
  private getAgent(): https.Agent | http.Agent {
    if (this.agent) return this.agent;
    if (this.mod === http) return (this.agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 }));
    const cluster = this.kc.getCurrentCluster()!;
    const buf = (file: string | undefined, data: string | undefined) => (file ? readFileSync(file) : data ? Buffer.from(data, 'base64') : undefined);
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
      if (!this.tokenCache || now - this.tokenCache.readAt > TOKEN_FILE_TTL_MS) this.tokenCache = { value: readFileSync(tokenFile, 'utf8').trim(), readAt: now };
      return { authorization: `Bearer ${this.tokenCache.value}` };
    }
    if (u.token) return { authorization: `Bearer ${u.token}` };
    if (u.username) return { authorization: `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}` };
    return {};
  }

  private async open(r: TransportRequest): Promise<{ req: http.ClientRequest; res: Promise<http.IncomingMessage> }> {
    const headers: Record<string, string> = { accept: r.accept ?? 'application/json', ...(await this.authHeaders()) };
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    if (payload) {
      headers['content-type'] = r.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = this.mod.request(this.url.origin + this.url.pathname.replace(/\/+$/, '') + r.path, { method: r.method, headers, agent: this.getAgent(), signal: r.signal });
    const res = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.on('error', reject);
    });
    const timeout = r.timeoutMs ?? 30_000;
    const timer = setTimeout(() => req.destroy(new Error(`${r.method} ${r.path}: no response within ${timeout} ms`)), timeout);
    res.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    req.end(payload);
    return { req, res };
  }

  /**
   * One request; resolves with the parsed JSON body (undefined when empty).
   * @throws KubeStatusError for a non-2xx status; Error on network errors, timeouts (`timeoutMs`) and aborts.
   */
  async request<T>(r: TransportRequest): Promise<T> {
    const { req, res: resP } = await this.open(r);
    const res = await resP;
    const timeout = r.timeoutMs ?? 30_000;
    const chunks: Buffer[] = [];
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new Error(`${r.method} ${r.path}: body not complete within ${timeout} ms`)), timeout);
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.once('aborted', () => {
        clearTimeout(timer);
        reject(new Error(`${r.method} ${r.path}: response aborted`));
      });
    });
    const status = res.statusCode ?? 0;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status < 200 || status >= 300) {
      throw new KubeStatusError(status, (parsed as KubeStatusError['status']) ?? { message: text.slice(0, 200) }, r.method, r.path);
    }
    return parsed as T;
  }

  /**
   * A watch: GET `path` (with `watch=true` in its query) streaming one JSON event per line to `onEvent`.
   * Resolves when the server ends the stream, `signal` aborts, or no byte arrived for `idleTimeoutMs`; rejects on
   * a non-2xx answer (KubeStatusError) or a network error.
   */
  async watch(path: string, o: { accept?: string; signal: AbortSignal; idleTimeoutMs: number }, onEvent: (type: string, object: unknown) => void): Promise<void> {
    const { req, res: resP } = await this.open({ method: 'GET', path, accept: o.accept, signal: o.signal, timeoutMs: o.idleTimeoutMs });
    const res = await resP;
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let st: KubeStatusError['status'];
      try {
        st = JSON.parse(text) as KubeStatusError['status'];
      } catch {
        st = { message: text.slice(0, 200) };
      }
      throw new KubeStatusError(res.statusCode ?? 0, st, 'WATCH', path);
    }
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => req.destroy(), o.idleTimeoutMs);
      };
      arm();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        arm();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: { type?: string; object?: unknown };
          try {
            ev = JSON.parse(line) as typeof ev;
          } catch (err) {
            req.destroy(err as Error);
            return;
          }
          onEvent(ev.type ?? '', ev.object);
        }
      });
      const end = (err?: unknown) => {
        clearTimeout(idle);
        if (err && !o.signal.aborted) reject(err);
        else resolve();
      };
      res.once('end', () => end());
      res.once('close', () => end());
      res.on('error', (e) => end((e as { code?: string }).code === 'ECONNRESET' || (e as Error).name === 'AbortError' ? undefined : e));
    });
  }
}
