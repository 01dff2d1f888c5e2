/**
 * A controller process's tiny HTTP server (node:http), like controller-runtime's metrics and health-probe servers:
 *
 * - `GET /metrics` — the prom-client registry in the Prometheus text format.
 * - `GET /healthz` — 200 `ok` while the process is alive (liveness).
 * - `GET /readyz`  — 200 once every readiness check passes (e.g. informers synced), else 503 with
 *   `{"status":"unready","failing":[{"name":…,"reason":…}]}` (readiness). A check fails when it returns false,
 *   throws, or takes longer than `checkTimeoutMs`.
 *
 * Anything else is 404; methods other than GET/HEAD are 405.
 */
import type * as NodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errFields, silentLogger, type RuntimeLogger } from './logger.js';
import { createRequire } from 'node:module';

/**
 * `node:http` loaded with require: an ESM import of it reads every export, and its lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` getters load undici (~8 MiB of resident memory in a process that never uses them).
 */
const http = createRequire(import.meta.url)('node:http') as typeof NodeHttp;

/** A readiness check: true when ready. Throwing (or false) means not ready; a thrown message becomes the reason. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind, e.g. `127.0.0.1`; default: all interfaces. */
  host?: string;
  /** Registry served at /metrics (404 there without one). */
  registry?: Registry;
  /** Named readiness checks. More can be added with {@link HealthServer.addReadinessCheck}. */
  readiness?: Record<string, ReadinessCheck>;
  /** Per-check timeout, ms. Default 5_000. */
  checkTimeoutMs?: number;
  logger?: RuntimeLogger;
}

export interface HealthServer {
  /** The bound port. */
  readonly port: number;
  /** `http://host:port` (127.0.0.1 when bound to all interfaces). */
  readonly url: string;
  /** Adds or replaces a readiness check. */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /** Removes a readiness check. */
  removeReadinessCheck(name: string): void;
  /** Runs the readiness checks as /readyz does. */
  readiness(): Promise<{ ready: boolean; failing: Array<{ name: string; reason: string }> }>;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts the server.
 * @throws Error when the port cannot be bound (e.g. EADDRINUSE).
 */
export async function startHealthServer(opts: HealthServerOptions = {}): Promise<HealthServer> {
  const checks = new Map<string, ReadinessCheck>(Object.entries(opts.readiness ?? {}));
  const timeoutMs = opts.checkTimeoutMs ?? 5_000;
  const log = opts.logger ?? silentLogger;

  const runCheck = async (name: string, check: ReadinessCheck): Promise<{ name: string; reason: string } | undefined> => {
    let t: NodeJS.Timeout | undefined;
    try {
      const ok = await Promise.race([
        Promise.resolve().then(check),
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return ok ? undefined : { name, reason: 'not ready' };
    } catch (err) {
      return { name, reason: err instanceof Error ? err.message : String(err) };
    } finally {
      if (t) clearTimeout(t);
    }
  };

  const readiness = async () => {
    const results = await Promise.all([...checks].map(([n, c]) => runCheck(n, c)));
    const failing = results.filter((r): r is { name: string; reason: string } => r !== undefined);
    return { ready: failing.length === 0, failing };
  };

  const send = (res: NodeHttp.ServerResponse, status: number, type: string, body: string, head: boolean): void => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(head ? undefined : body);
  };

  const handle = async (req: NodeHttp.IncomingMessage, res: NodeHttp.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    }
    const head = req.method === 'HEAD';
    switch (path) {
      case '/healthz':
      case '/livez':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
      case '/readyz': {
        const r = await readiness();
        const body = r.ready ? { status: 'ok', checks: [...checks.keys()] } : { status: 'unready', failing: r.failing };
        return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify(body), head);
      }
      case '/metrics': {
        if (!opts.registry) return send(res, 404, 'text/plain; charset=utf-8', 'no metrics registry\n', head);
        return send(res, 200, opts.registry.contentType, await opts.registry.metrics(), head);
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ url: req.url, ...errFields(err) }, 'health server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url }, 'health server listening');

  return {
    port,
    url,
    addReadinessCheck: (name, check) => void checks.set(name, check),
    removeReadinessCheck: (name) => void checks.delete(name),
    readiness,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
