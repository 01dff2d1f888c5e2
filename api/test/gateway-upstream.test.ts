/**
 * The gateway's HTTP relay against a faulty upstream, at the Gateway's own seam: a real local HTTP server stands where
 * an instance would (it answers the token check, then breaks off a response body after the headers, or never answers).
 * The gateway must cut the client's response short and keep serving; it used to pipe without error handling, so the
 * broken body was an unhandled 'error' that ends the api process. A hung instance ends in 504 `upstream_timeout` (it
 * used to be cut after 30 s as "unavailable" — shorter than a login may take) and no error names the instance's
 * address.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { pino } from 'pino';
import { DEFAULT_UPSTREAM_TIMEOUT_MS, Gateway, forwardablePath } from '../src/gateway.js';
import type { InstanceEndpoints } from '../src/providers/index.js';
import { INSTANCE_TOKEN as token, answerTokenCheck, gatewayListener as gatewayApp, listen } from './gateway-stand-in.js';

let upstream: http.Server;
let gatewayServer: http.Server;
let gatewayUrl: string;
let upstreamUrl: string;
const servers: http.Server[] = [];
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
/** A large answer's bytes (not all alike, so a reordering would show). */
const LARGE = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7) % 251));
const endlessClosed = Promise.withResolvers<void>();

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  upstream = http.createServer((req, res) => {
    if (answerTokenCheck(req, res)) return;
    if (req.url === '/v1/hang') return; // never answers
    if (req.url === '/v1/broken') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) });
      res.write(Buffer.alloc(16 * 1024, 1), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    if (req.url === '/v1/echo') {
      // How the body arrived: its framing and its bytes' digest.
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => {
        const framing = {
          contentLength: req.headers['content-length'] ?? null,
          transferEncoding: req.headers['transfer-encoding'] ?? null,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...framing, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (req.url === '/v1/large' || req.url === '/v1/chunked') {
      // 1 MiB in 64 KiB parts: declared (above the gateway's held limit), or chunked.
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(req.url === '/v1/large' ? { 'content-length': String(LARGE.length) } : {}),
      });
      let at = 0;
      const next = () => {
        if (at >= LARGE.length) return void res.end();
        res.write(LARGE.subarray(at, (at += 64 * 1024)), next);
      };
      return next();
    }
    if (req.url === '/v1/endless') {
      // Writes until the reader goes away; reports when its connection is given up.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024, 7)), 5);
      res.once('close', () => {
        clearInterval(timer);
        endlessClosed.resolve();
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('fine');
  });
  upstreamUrl = await listen(upstream);
  const ep: InstanceEndpoints = { publicUrl: upstreamUrl, internalUrl: upstreamUrl, internalKey: 'test-internal-key' };
  gatewayServer = http.createServer(
    gatewayApp(new Gateway({} as never, { endpoints: async () => ep }, {} as never, pino({ level: 'silent' }))),
  );
  gatewayUrl = await listen(gatewayServer);
});

/** Serves `gateway` on a loopback port; closed after all tests. */
async function serve(gateway: Gateway): Promise<string> {
  const s = http.createServer(gatewayApp(gateway));
  servers.push(s);
  return listen(s);
}

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  for (const s of [gatewayServer, upstream, ...servers]) s?.closeAllConnections();
  await Promise.all([gatewayServer, upstream, ...servers].map((s) => new Promise((r) => s?.close(r))));
});

test('an upstream body that breaks off after the headers cuts the response short; the gateway keeps serving', async () => {
  const res = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api/v1/broken`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
  expect(res.status).toBe(200);
  const started = Date.now();
  const err = await res.arrayBuffer().then(
    () => undefined,
    (e: Error) => e,
  );
  // Cut short promptly (not a complete-looking body, not a hang until the client gives up).
  expect(err).toBeDefined();
  expect(err?.name).not.toMatch(/Abort|Timeout/);
  expect(Date.now() - started).toBeLessThan(3_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(uncaught).toEqual([]);
  const ok = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api/v1/ok`, { headers: { authorization: `Bearer ${token}` } });
  expect({ status: ok.status, body: await ok.text() }).toEqual({ status: 200, body: 'fine' });
});

test('forwardablePath: /health and /v1/… only, as the upstream would resolve them', () => {
  expect(forwardablePath('/health')).toBe('/health');
  expect(forwardablePath('/v1/messages')).toBe('/v1/messages');
  // Plain segments are taken as they are; anything URL resolution would rewrite is resolved as the upstream would.
  expect(forwardablePath('/v1/chats/15550001000:c-us/messages')).toBe('/v1/chats/15550001000:c-us/messages');
  expect(forwardablePath('/v1/chats/15550001000@c.us/messages')).toBe('/v1/chats/15550001000@c.us/messages');
  expect(forwardablePath('/v1/chats/a b')).toBe('/v1/chats/a%20b');
  expect(forwardablePath('/v1/chats/./x//y')).toBe('/v1/chats/x//y');
  expect(forwardablePath('/v1/chats/%2E%2E/%2e%2e/metrics')).toBeUndefined();
  for (const p of [
    '/metrics',
    '/openapi.json',
    '/',
    '/v1/../metrics',
    '/v1/%2e%2e/metrics',
    '/v1\\..\\metrics',
    '/health/../metrics',
    '/v1',
    '/V1/messages',
    '/v1/a/../../metrics',
    '/v1/a/%2e./../metrics',
  ])
    expect({ p, f: forwardablePath(p) }).toEqual({ p, f: undefined });
});

test('a hung instance ends in 504 upstream_timeout after the upstream timeout; no error names the address', async () => {
  const ep: InstanceEndpoints = { publicUrl: upstreamUrl, internalUrl: upstreamUrl, internalKey: 'test-internal-key' };
  const url = await serve(
    new Gateway({} as never, { endpoints: async () => ep }, {} as never, pino({ level: 'silent' }), { upstreamTimeoutMs: 300 }),
  );
  const res = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/hang`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  expect({ status: res.status, code: JSON.parse(body).error.code }).toEqual({ status: 504, code: 'upstream_timeout' });
  expect(body).not.toContain(new URL(upstreamUrl).port);
  expect(body).not.toContain('127.0.0.1');
});

test('an unreachable instance is 503 instance_unavailable without its address', async () => {
  const closed = http.createServer();
  const deadUrl = await listen(closed);
  await new Promise((r) => closed.close(r));
  const ep: InstanceEndpoints = { publicUrl: deadUrl, internalUrl: upstreamUrl, internalKey: 'test-internal-key' };
  const url = await serve(new Gateway({} as never, { endpoints: async () => ep }, {} as never, pino({ level: 'silent' })));
  const res = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/ok`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  expect({ status: res.status, code: JSON.parse(body).error.code }).toEqual({ status: 503, code: 'instance_unavailable' });
  expect(body).not.toContain(new URL(deadUrl).port);
  expect(body).not.toContain('127.0.0.1');
});

test("the default upstream timeout outlasts an instance's slowest route (a login waits up to 180 s for WhatsApp Web)", () => {
  expect(DEFAULT_UPSTREAM_TIMEOUT_MS).toBeGreaterThan(180_000);
});

test('a body of declared length reaches the instance with that length, small or large; a chunked one arrives whole', async () => {
  const echo = async (body: Buffer | ReadableStream<Uint8Array>, length?: number) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' };
    if (length !== undefined) headers['content-length'] = String(length);
    const res = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api/v1/echo`, {
      method: 'POST',
      headers,
      body,
      duplex: 'half',
    } as RequestInit);
    return { status: res.status, ...((await res.json()) as Record<string, unknown>) };
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  // Held (≤ 256 KiB) and streamed (larger) bodies keep their Content-Length; the instance never sees them re-chunked.
  for (const size of [100, 1024 * 1024]) {
    const body = Buffer.alloc(size, size % 251);
    expect(await echo(body)).toEqual({ status: 200, contentLength: String(size), transferEncoding: null, sha256: sha(body) });
  }
  // A client's chunked body (no declared length) streams through whole.
  const parts = [Buffer.from('a'.repeat(1000)), Buffer.from('b'.repeat(2000))];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
  // (Its framing upstream depends on timing: undici declares the length of a stream that has already ended.)
  expect(await echo(stream)).toMatchObject({ status: 200, sha256: sha(Buffer.concat(parts)) });
});

test('a large answer streams through whole, declared or chunked', async () => {
  const sha = (b: Buffer | ArrayBuffer) =>
    createHash('sha256')
      .update(Buffer.from(b as ArrayBuffer))
      .digest('hex');
  for (const p of ['/v1/large', '/v1/chunked']) {
    const res = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api${p}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(sha(await res.arrayBuffer())).toBe(sha(LARGE));
  }
});

test("a client that goes away mid-answer ends the instance's answer too; the gateway keeps serving", async () => {
  const ac = new AbortController();
  const res = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api/v1/endless`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  // The instance's connection is given up (not left paused behind a reader that is gone).
  await expect(
    Promise.race([endlessClosed.promise.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 5_000))]),
  ).resolves.toBe('closed');
  const ok = await fetch(`${gatewayUrl}/v1/instances/i-aaaaaaaaaaaa/api/v1/ok`, { headers: { authorization: `Bearer ${token}` } });
  expect({ status: ok.status, body: await ok.text() }).toEqual({ status: 200, body: 'fine' });
  expect(uncaught).toEqual([]);
});

test('an absolute-form request target (http://host/path) is the gateway’s like its path alone', async () => {
  const { port } = new URL(gatewayUrl);
  const s = net.connect(Number(port), '127.0.0.1');
  s.write(
    `GET http://127.0.0.1:${port}/v1/instances/i-aaaaaaaaaaaa/api/v1/ok?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      `Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
  );
  let answer = '';
  for await (const c of s) answer += String(c);
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  expect(answer.slice(answer.indexOf('\r\n\r\n'))).toContain('fine'); // (chunked: the instance declared no length)
});
