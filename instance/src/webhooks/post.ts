/**
 * One webhook POST through the SSRF guard: the receiver's host is resolved and checked ({@link WebhookGuard.target}),
 * and the connection goes to the checked address (the socket's `lookup` answers with it, so nothing resolves the name
 * again; TLS still verifies the certificate for the host name). Redirects are never followed (a 3xx is an answer like
 * any other; the dispatcher treats it as a failure), at most `maxResponseBytes` of the answer are read, and the whole
 * exchange — connect, request, answer — is bounded by `timeoutMs`.
 *
 * The requests go through undici's low-level `dispatch` (a connection pool per target, HTTP/1.1, no pipelining): on
 * the instance's V8 flags it spends ~190 µs of CPU per request against ~320 µs for undici's `request()` and ~360–450 µs
 * for `node:http`'s agent (64 in flight to a loopback server), and the CPU of the instance's one thread is what bounds
 * a fan-out (api/bench `webhooks`). undici is loaded on the first delivery, not at start (an
 * instance without a webhook never loads it: instance/README.md, "Memory").
 *
 * Connections are kept alive and reused, but only to the same checked address: one pool per
 * (scheme, host, port, checked address) — a name that resolves elsewhere on a later attempt gets a new pool, so a
 * pooled socket never bypasses the guard's check. A connection whose answer was not read to its end (too long, timed
 * out, failed) is destroyed, never reused.
 */
import type * as Undici from 'undici';
import type { Dispatcher, Pool } from 'undici';
import { WebhookRefusedError, WebhookResolveError, pinnedLookup, type WebhookGuard } from './ssrf.js';

/** Pools kept at most (least recently used dropped, their connections closed). */
const MAX_POOLS = 64;
/** Idle keep-alive connections are closed after this, ms (below the 5 s a Node server keeps them). */
const KEEP_ALIVE_MS = 4_000;
const pools = new Map<string, Pool>();
let undici: Promise<typeof Undici> | undefined;

/** The pool of one checked target (its connections go to `address` only), by its key (`scheme//host:port@address`). */
function knownPool(key: string): Pool | undefined {
  const pool = pools.get(key);
  if (pool) {
    pools.delete(key); // most recently used last
    pools.set(key, pool);
  }
  return pool;
}

/** A new pool for a checked target (undici is loaded on the first). */
async function newPool(key: string, url: URL, address: string, family: number, connections: number | undefined): Promise<Pool> {
  const { Pool } = await (undici ??= import('undici'));
  let pool = pools.get(key); // another delivery made it meanwhile
  if (pool) return pool;
  pool = new Pool(url.origin, {
    // Bounded by the caller's parallelism: a connection freed a moment late is waited for, not doubled.
    connections: connections ?? null,
    pipelining: 1,
    allowH2: false,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
    // The exchange's own bound (`timeoutMs`) applies; these only must not be shorter.
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { lookup: pinnedLookup(address, family) },
  });
  pools.set(key, pool);
  if (pools.size > MAX_POOLS) {
    const [oldKey, old] = pools.entries().next().value as [string, Pool];
    pools.delete(oldKey);
    void old.destroy().catch(() => undefined);
  }
  return pool;
}

/** Closes every kept-alive connection (tests; the process's end closes them anyway). */
export function closeWebhookConnections(): void {
  for (const p of pools.values()) void p.destroy().catch(() => undefined);
  pools.clear();
}

export interface PostOptions {
  guard: Pick<WebhookGuard, 'target'>;
  /** Bound of the whole exchange, ms. */
  timeoutMs: number;
  /** Bytes of the answer read at most; the rest is dropped with the connection. */
  maxResponseBytes: number;
  /**
   * Connections per target at most (the dispatcher's concurrency; default: as many as requests in flight). Set by the
   * first delivery to a target (its pool is kept).
   */
  connections?: number | undefined;
  /** Keep the answer's body (up to `maxResponseBytes`) in {@link PostResult.body} (the api target's batch answers). */
  keepBody?: boolean | undefined;
}

/** What happened: an HTTP status, or none with an error; `refused` when the guard refused the receiver. */
export interface PostResult {
  status: number | null;
  /** The answer's Location (3xx), Retry-After, as sent. */
  location?: string | undefined;
  retryAfter?: string | undefined;
  error: string | null;
  /** The guard refused the receiver (final: not retried). */
  refused: boolean;
  /** The address the connection went to (undefined when refused or unresolved). */
  address?: string | undefined;
  /** From the start of the resolution to the end of the answer (or the failure), ms. */
  latencyMs: number;
  /** The answer's body as text, when asked for ({@link PostOptions.keepBody}) and read to its end. */
  body?: string | undefined;
}

/**
 * POSTs `body` with `headers` to `url`. Never throws: every outcome is a {@link PostResult}.
 */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, o: PostOptions): Promise<PostResult> {
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  let target;
  try {
    target = await o.guard.target(url);
  } catch (err) {
    if (err instanceof WebhookRefusedError) return { status: null, error: `refused: ${err.message}`, refused: true, latencyMs: elapsed() };
    if (err instanceof WebhookResolveError) return { status: null, error: err.message, refused: false, latencyMs: elapsed() };
    return { status: null, error: (err as Error).message, refused: false, latencyMs: elapsed() };
  }
  const { address, family } = target;
  const key = `${target.url.protocol}//${target.url.host}@${address}`;
  let pool: Pool;
  try {
    pool = knownPool(key) ?? (await newPool(key, target.url, address, family, o.connections));
  } catch (err) {
    return { status: null, error: (err as Error).message, refused: false, address, latencyMs: elapsed() };
  }
  // undici's low-level dispatch (no response stream, no AbortSignal): ~40% less CPU per request than `request()`.
  return new Promise<PostResult>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let done = false;
    let read = 0;
    const kept: Buffer[] = [];
    let answer: { status: number; location?: string | undefined; retryAfter?: string | undefined; body?: string } | undefined;
    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const r = answer ? { ...answer, error: null } : { status: null, error: error ?? 'no answer' };
      resolve({ ...r, refused: false, address, latencyMs: elapsed() });
    };
    const timer = setTimeout(() => {
      const error = `timed out after ${o.timeoutMs} ms`;
      answer = undefined; // an answer not read to its end by now is no answer
      finish(error);
      controller?.abort(new Error(error));
    }, o.timeoutMs);
    const header = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
    try {
      pool.dispatch(
        { origin: target.url.origin, path: target.url.pathname + target.url.search, method: 'POST', headers, body },
        {
          onRequestStart(c) {
            controller = c;
            if (done) c.abort(new Error(`timed out after ${o.timeoutMs} ms`)); // waited for a connection too long
          },
          onResponseStart(_c, statusCode, h) {
            answer = { status: statusCode, location: header(h.location), retryAfter: header(h['retry-after']) };
          },
          onResponseData(c, chunk) {
            read += chunk.length;
            if (o.keepBody) kept.push(chunk);
            if (read < o.maxResponseBytes) return;
            finish(null); // enough: the rest is dropped with the connection
            c.abort(new Error('answer over the size cap'));
          },
          onResponseEnd() {
            if (answer && o.keepBody) answer.body = Buffer.concat(kept).toString('utf8');
            finish(null); // read to its end: the connection serves the next delivery
          },
          onResponseError(_c, err) {
            finish((err as NodeJS.ErrnoException).code ?? err.message); // an answer's status is kept
          },
        },
      );
    } catch (err) {
      finish((err as Error).message);
    }
  });
}
