/**
 * One webhook POST through the SSRF guard: the receiver's host is resolved and checked ({@link WebhookGuard.target}),
 * and the connection goes to the checked address (the socket's `lookup` answers with it, so nothing resolves the name
 * again; TLS still verifies the certificate for the host name). Redirects are never followed (a 3xx is an answer like
 * any other; the dispatcher treats it as a failure), at most `maxResponseBytes` of the answer are read, and the whole
 * exchange — connect, request, answer — is bounded by `timeoutMs`.
 *
 * Connections are kept alive and reused, but only to the same checked address: one keep-alive agent per
 * (scheme, host, port, checked address) — a name that resolves elsewhere on a later attempt gets a new agent, so a
 * pooled socket never bypasses the guard's check. A connection whose answer was not read to its end (too long, timed
 * out, failed) is destroyed, never reused.
 */
import type { Agent } from 'node:http';
import { http, https } from '../node-http.js';
import { WebhookRefusedError, WebhookResolveError, pinnedLookup, type WebhookGuard } from './ssrf.js';

/** Agents kept at most (least recently used dropped, their idle sockets closed). */
const MAX_AGENTS = 64;
/** Idle keep-alive sockets are closed after this, ms (below the 5 s a Node server keeps them). */
const KEEP_ALIVE_MS = 4_000;
const agents = new Map<string, Agent>();

/** The keep-alive agent of one checked target (its sockets connect to `address` only). */
function agentFor(url: URL, address: string, family: number): Agent {
  const key = `${url.protocol}//${url.host}@${address}`;
  let agent = agents.get(key);
  if (agent) {
    agents.delete(key); // most recently used last
    agents.set(key, agent);
    return agent;
  }
  const o = {
    keepAlive: true,
    keepAliveMsecs: 1_000,
    timeout: KEEP_ALIVE_MS,
    scheduling: 'lifo' as const,
    lookup: pinnedLookup(address, family),
  };
  agent = url.protocol === 'https:' ? new https.Agent(o) : new http.Agent(o);
  agents.set(key, agent);
  if (agents.size > MAX_AGENTS) {
    const [oldKey, old] = agents.entries().next().value as [string, Agent];
    agents.delete(oldKey);
    old.destroy();
  }
  return agent;
}

/** Closes every kept-alive connection (tests; the process's end closes them anyway). */
export function closeWebhookConnections(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

export interface PostOptions {
  guard: Pick<WebhookGuard, 'target'>;
  /** Bound of the whole exchange, ms. */
  timeoutMs: number;
  /** Bytes of the answer read at most; the rest is dropped with the connection. */
  maxResponseBytes: number;
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
  // The socket resolves the name through this function only: always the checked address.
  const lookup = pinnedLookup(address, family);
  const mod = target.url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    let done = false;
    /** `reusable`: the answer was read to its end, the connection may serve the next delivery. */
    const finish = (r: Omit<PostResult, 'latencyMs' | 'refused' | 'address'>, reusable = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!reusable) req.destroy();
      resolve({ ...r, refused: false, address, latencyMs: elapsed() });
    };
    const req = mod.request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        agent: agentFor(target.url, address, family),
      },
      (res) => {
        let read = 0;
        const answer = {
          status: res.statusCode ?? null,
          location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
          retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined,
          error: null,
        };
        res.on('data', (c: Buffer) => {
          read += c.length;
          if (read >= o.maxResponseBytes) finish(answer); // enough: the rest is dropped with the connection
        });
        res.on('end', () => finish(answer, true));
        res.on('error', () => finish(answer));
      },
    );
    const timer = setTimeout(() => finish({ status: null, error: `timed out after ${o.timeoutMs} ms` }), o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ status: null, error: err.code ?? err.message }));
    req.end(body);
  });
}
