/**
 * The gateway's connections to one instance (`GatewayOptions.upstreamConnections`, like HAProxy's per-server
 * `maxconn`): a real local HTTP server stands where an instance would and counts the requests it works on at once.
 * Beyond the cap requests wait in the gateway and are all answered; a request whose client went away while it waited
 * is never sent (a POST must not run for nobody), and so is one that waited past the queue timeout (answered 503
 * `instance_busy`; the instance's API document too); requests that wait on WhatsApp or on their client go around the cap.
 */
import http from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_UPSTREAM_CONNECTIONS, Gateway, INSTANCE_BUSY_RETRY_AFTER_S } from '../src/gateway.js';
import { createGatewayMetrics } from '../src/gateway/metrics.js';
import { waitsOnOthers } from '../src/gateway/connection-cap.js';
import { QueueTimeoutError, sendUpstream, wholeBody } from '../src/gateway/upstream.js';
import { Agent } from 'undici';
import { INSTANCE_TOKEN, answerTokenCheck, gatewayListener, listen } from './gateway-stand-in.js';
import type { InstanceEndpoints } from '../src/providers/index.js';

/** The stand-in instance's API document (`GET /openapi.json`). */
const DOC = {
  openapi: '3.1.0',
  info: { title: 'instance', version: '1' },
  paths: { '/v1/chats': { get: { responses: { 200: { description: 'The chats' } } } } },
};

let upstream: http.Server;
let ep: InstanceEndpoints;
const servers: http.Server[] = [];
/** Requests the stand-in instance is working on now, and the most at once. */
let working = 0;
let mostAtOnce = 0;
/** Paths of the requests the stand-in instance received, in order. */
const received: string[] = [];
/** Answers of `/v1/held` requests not yet given (they wait until released). */
const held: (() => void)[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (answerTokenCheck(req, res)) return;
    received.push(`${req.method} ${req.url}`);
    working++;
    mostAtOnce = Math.max(mostAtOnce, working);
    const answer = () => {
      working--;
      if (req.url === '/openapi.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DOC));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
    };
    req.resume();
    req.on('end', () => (req.url === '/v1/held' || req.headers['x-hold'] ? held.push(answer) : setTimeout(answer, 20)));
  });
  const url = await listen(upstream);
  ep = { publicUrl: url, internalUrl: url, internalKey: 'test-internal-key' };
});

// A test that failed half-way leaves no request held for the next one.
afterEach(() => {
  while (held.length) held.shift()!();
});

afterAll(async () => {
  for (const s of [upstream, ...servers]) s.closeAllConnections();
  await Promise.all([upstream, ...servers].map((s) => new Promise((r) => s.close(r))));
});

/**
 * Serves a gateway with `connections` to the stand-in instance (kit's withFront, as the api serves it).
 * @param registry where its metrics go (none: not measured).
 */
async function serveGateway(connections?: number, queueTimeoutMs?: number, registry?: Registry): Promise<string> {
  const gateway = new Gateway({} as never, { endpoints: async () => ep }, {} as never, pino({ level: 'silent' }), {
    upstreamConnections: connections,
    queueTimeoutMs,
    metrics: registry && createGatewayMetrics(registry),
  });
  const s = http.createServer(gatewayListener(gateway));
  servers.push(s);
  return listen(s);
}

const headers = { authorization: `Bearer ${INSTANCE_TOKEN}`, 'content-type': 'application/json' };

/** Waits until `cond()` holds, polling every 10 ms, for up to 5 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('at most `upstreamConnections` requests reach one instance at once; the rest wait and are all answered', async () => {
  const url = await serveGateway(4);
  mostAtOnce = 0;
  const answers = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/work?n=${i}`, { method: 'POST', headers, body: '{}' }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      })),
    ),
  );
  expect(answers).toEqual(Array.from({ length: 40 }, () => ({ status: 200, body: 'done' })));
  // Forty clients at once, four at the instance (the cap reached, never passed).
  expect(mostAtOnce).toBe(4);
});

test('the default is 16 connections per instance', async () => {
  expect(DEFAULT_UPSTREAM_CONNECTIONS).toBe(16);
  const url = await serveGateway();
  mostAtOnce = 0;
  const statuses = await Promise.all(
    Array.from({ length: 48 }, () => fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/work`, { headers }).then((r) => r.status)),
  );
  expect(statuses.every((s) => s === 200)).toBe(true);
  expect(mostAtOnce).toBe(16);
});

test('a request whose client went away while it waited for a connection is never sent; the next one is', async () => {
  const url = await serveGateway(1);
  const before = received.length;
  // The one connection is busy with a request the instance holds.
  const first = fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/held`, { headers });
  await until(() => held.length === 1, 'the held request');
  // A POST queues behind it; its client gives up.
  const ac = new AbortController();
  const gone = fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/gone`, { method: 'POST', headers, body: '{"x":1}', signal: ac.signal });
  await new Promise((r) => setTimeout(r, 200));
  ac.abort();
  await expect(gone).rejects.toThrow();
  await new Promise((r) => setTimeout(r, 100)); // the gateway sees the client's connection close
  held.shift()!();
  expect((await first).status).toBe(200);
  const next = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/after`, { method: 'POST', headers, body: '{}' });
  expect({ status: next.status, body: await next.text() }).toEqual({ status: 200, body: 'done' });
  expect(received.slice(before)).toEqual(['GET /v1/held', 'POST /v1/after']);
});

test('a request that waited past the queue timeout is answered 503 instance_busy with Retry-After and never sent', async () => {
  expect(DEFAULT_QUEUE_TIMEOUT_MS).toBe(20_000);
  const registry = new Registry();
  const url = await serveGateway(1, 300, registry);
  const before = received.length;
  const first = fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/held`, { headers });
  await until(() => held.length === 1, 'the held request');
  const started = Date.now();
  const late = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/late`, { method: 'POST', headers, body: '{"x":1}' });
  const waited = Date.now() - started;
  const { error } = (await late.json()) as { error: { code: string; message: string; details: unknown } };
  expect({ status: late.status, retryAfter: late.headers.get('retry-after'), code: error.code, details: error.details }).toEqual({
    status: 503,
    retryAfter: String(INSTANCE_BUSY_RETRY_AFTER_S),
    code: 'instance_busy',
    details: { waitedMs: 300, retryAfterS: INSTANCE_BUSY_RETRY_AFTER_S },
  });
  expect(error.message).toMatch(/not sent; retry in 5 s/);
  // Answered when the queue timeout ran out, not when the held request ended.
  expect(waited).toBeGreaterThanOrEqual(290);
  expect(held.length).toBe(1);
  const counted = async () =>
    (await registry.getSingleMetric('wacloud_gateway_queue_timeouts_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  expect(await counted()).toBe(1);
  // Its turn comes once the held request ends: it is dropped unsent, and the next request is sent and answered.
  held.shift()!();
  expect((await first).status).toBe(200);
  const next = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/after`, { method: 'POST', headers, body: '{}' });
  expect({ status: next.status, body: await next.text() }).toEqual({ status: 200, body: 'done' });
  expect(received.slice(before)).toEqual(['GET /v1/held', 'POST /v1/after']);
  expect(await counted()).toBe(1);
});

test("the instance's API document waits for a connection like any request: 503 instance_busy past the queue timeout", async () => {
  const url = await serveGateway(1, 300);
  const before = received.length;
  const first = fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/v1/held`, { headers });
  await until(() => held.length === 1, 'the held request');
  const late = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/openapi.json`, { headers });
  const { error } = (await late.json()) as { error: { code: string } };
  expect({ status: late.status, code: error.code, retryAfter: late.headers.get('retry-after') }).toEqual({
    status: 503,
    code: 'instance_busy',
    retryAfter: String(INSTANCE_BUSY_RETRY_AFTER_S),
  });
  held.shift()!();
  expect((await first).status).toBe(200);
  // With the connection free, the document is fetched and served (the gateway's version of it).
  const doc = await fetch(`${url}/v1/instances/i-aaaaaaaaaaaa/api/openapi.json`, { headers });
  const body = (await doc.json()) as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
  expect(doc.status).toBe(200);
  expect(Object.keys(body.paths)).toEqual(['/v1/chats']);
  expect(Object.keys(body.paths['/v1/chats']!.get.responses)).toEqual(expect.arrayContaining(['200', '503']));
  expect(received.slice(before)).toEqual(['GET /v1/held', 'GET /openapi.json']);
});

test('sendUpstream: past its queue timeout a request is rejected at once and dropped unsent when its turn comes', async () => {
  const pool = new Agent({ connections: 1 });
  const before = received.length;
  const send = (path: string, queueTimeoutMs?: number) =>
    sendUpstream(pool, { origin: ep.publicUrl, path, method: 'POST', headers: {}, body: '{}' }, 1024, { queueTimeoutMs });
  const first = send('/v1/held');
  await until(() => held.length === 1, 'the held request');
  const late = send('/v1/late', 100);
  await expect(late).rejects.toThrow(QueueTimeoutError);
  await expect(late).rejects.toMatchObject({ waitedMs: 100 });
  held.shift()!();
  expect((await first).statusCode).toBe(200);
  const after = await send('/v1/after', 100);
  expect(after.statusCode).toBe(200);
  after.body?.resume(); // the stand-in's answer is chunked: it streams
  expect(received.slice(before)).toEqual(['POST /v1/held', 'POST /v1/after']);
  await pool.close();
});

test('wholeBody: a streamed answer read to its end, or refused past its cap with the caller’s error', async () => {
  const pool = new Agent({ connections: 1 });
  const send = () => sendUpstream(pool, { origin: ep.publicUrl, path: '/v1/work', method: 'GET', headers: {} }, 1024);
  const tooLarge = () => new Error('too large');
  // The stand-in's answer is chunked (no declared length), so it streams rather than arriving whole.
  const first = await send();
  expect(first.whole).toBeUndefined();
  expect((await wholeBody(first, 1024, tooLarge)).toString()).toBe('done');
  await expect(wholeBody(await send(), 3, tooLarge)).rejects.toThrow('too large');
  // The destroyed answer's connection is not reused; the next request is answered on a new one.
  expect((await wholeBody(await send(), 4, tooLarge)).toString()).toBe('done');
  await pool.close();
});

test("sends that wait, the login and media downloads go around the cap: they never hold up the instance's other requests", async () => {
  const url = await serveGateway(1);
  const api = `${url}/v1/instances/i-aaaaaaaaaaaa/api`;
  const hold = { ...headers, 'x-hold': '1' }; // the stand-in instance answers these only when released
  const waiting = [
    fetch(`${api}/v1/messages?wait=true`, { method: 'POST', headers: hold, body: '{}' }),
    fetch(`${api}/v1/session/login`, { method: 'POST', headers: hold, body: '{}' }),
    fetch(`${api}/v1/messages/m1/media`, { headers: hold }),
  ];
  await until(() => held.length === 3, 'the three waiting requests at the instance at once');
  // The one capped connection is free: an ordinary request is answered while the three wait.
  const plain = await fetch(`${api}/v1/chats`, { headers });
  expect({ status: plain.status, body: await plain.text() }).toEqual({ status: 200, body: 'done' });
  while (held.length) held.shift()!();
  expect(await Promise.all(waiting.map(async (r) => (await r).status))).toEqual([200, 200, 200]);
});

test('waitsOnOthers: which requests go around the cap', () => {
  expect(waitsOnOthers('POST', '/v1/messages', '?wait=true')).toBe(true);
  expect(waitsOnOthers('POST', '/v1/messages/media', '?x=1&wait=true')).toBe(true);
  expect(waitsOnOthers('POST', '/v1/session/login', '')).toBe(true);
  expect(waitsOnOthers('GET', '/v1/messages/3EB0ABC/media', '')).toBe(true);
  for (const [method, path, query] of [
    ['POST', '/v1/messages', ''],
    ['POST', '/v1/messages', '?wait=false'],
    ['GET', '/v1/messages', '?wait=true'],
    ['GET', '/v1/messages/3EB0ABC', ''],
    ['POST', '/v1/messages/media', ''],
    ['GET', '/v1/messages/a/b/media', ''],
    ['GET', '/v1/session/login', ''],
  ] as const)
    expect({ method, path, query, w: waitsOnOthers(method, path, query) }).toEqual({ method, path, query, w: false });
});
