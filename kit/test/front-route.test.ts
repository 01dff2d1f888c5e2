/**
 * Requests answered ahead of express (front-route.ts, the api's gateway): logged and measured by request-log-light.ts —
 * the request id echoed, the completion line at the level of its status with its code and a redacted URL, the duration
 * metric labelled with the route, a response cut off logged as aborted — while the other requests still reach the
 * express app (and pino-http); the client's address follows the app's `trust proxy` setting as express's `req.ip`
 * does; `before` handlers may answer first; an error thrown by the route is a 500 `internal`, logged. Read back from
 * the kit logger's (pino) own output, the registry and the answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Histogram, Registry } from 'prom-client';
import { HttpError, createApp, createLogger, withFront, type FrontRoute } from '../src/index.js';
import { logLines } from './log-lines.js';

const ROUTE = '/proxy/*';
const { destination, lines } = logLines();
const registry = new Registry();
let server: http.Server;
let app: ReturnType<typeof createApp>;
let url: string;

beforeAll(async () => {
  const logger = createLogger({ service: 'test', level: 'debug', destination });
  const httpDuration = new Histogram({ name: 'h', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
  app = createApp({
    routes: [],
    logger,
    registry,
    httpDuration,
    bodyLimitBytes: 1024,
    openapi: () => ({}),
    authenticate: async () => undefined,
  });
  app.set('trust proxy', 1);
  const front: FrontRoute = {
    match: (req) => (req.url?.startsWith('/proxy/') ? ROUTE : undefined),
    handle: (req, res, { address, fail }) => {
      const p = req.url!.split('?')[0];
      if (p === '/proxy/ok') return void res.end('ok');
      if (p === '/proxy/address') return void res.end(address);
      if (p === '/proxy/gone') return fail(new HttpError(404, 'instance_not_found', 'No such instance.'));
      if (p === '/proxy/cut') return void (res.writeHead(200, { 'content-length': '10' }), res.write('12345'), res.destroy());
      if (p === '/proxy/later') return void setTimeout(() => fail(new Error('a socket error with 10.0.0.5:8080')), 1);
      throw new Error('thrown by the route');
    },
  };
  // A `before` handler that answers some requests itself (as CORS answers a preflight).
  const preflight = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) =>
    req.method === 'OPTIONS' ? void ((res.statusCode = 204), res.end()) : next();
  server = http.createServer(withFront(app, front, { logger, httpDuration, before: [preflight] }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The log line whose request id is `id`, once written. */
async function lineOf(id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 50; i++) {
    const l = lines.find((x) => x.req?.id === id && x.res);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request log line for ${id}`);
}

test('a success: its id echoed (the client’s or a new one), a debug line with the token redacted, measured under the route', async () => {
  const given = await fetch(`${url}/proxy/ok?token=SECRET1&x=1`, { headers: { 'x-request-id': 'req-given' } });
  expect([given.status, given.headers.get('x-request-id')]).toEqual([200, 'req-given']);
  await given.text();
  const l = await lineOf('req-given');
  expect(l).toMatchObject({
    level: 20,
    msg: 'request completed',
    req: { method: 'GET', url: '/proxy/ok?token=[redacted]&x=1' },
    res: { statusCode: 200 },
  });
  expect(typeof l.responseTime).toBe('number');
  const fresh = await fetch(`${url}/proxy/ok`);
  await fresh.text();
  expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const metrics = await registry.metrics();
  expect(metrics).toMatch(/h_count\{method="GET",route="\/proxy\/\*",status_code="200"\} 2/);
});

test('a coded 4xx: an info line with its code; an answer cut off: a warn line "request aborted"', async () => {
  const gone = await fetch(`${url}/proxy/gone`, { headers: { 'x-request-id': 'req-gone' } });
  expect(gone.status).toBe(404);
  expect(await gone.json()).toMatchObject({ error: { code: 'instance_not_found' } });
  expect(await lineOf('req-gone')).toMatchObject({ level: 30, errorCode: 'instance_not_found', res: { statusCode: 404 } });
  await fetch(`${url}/proxy/cut`, { headers: { 'x-request-id': 'req-cut' } })
    .then((r) => r.text())
    .catch(() => undefined);
  expect(await lineOf('req-cut')).toMatchObject({ level: 40, msg: 'request aborted' });
});

test('other requests are still logged by pino-http (with its response headers)', async () => {
  const r = await fetch(`${url}/elsewhere`, { headers: { 'x-request-id': 'req-else' } });
  expect(r.status).toBe(404);
  const l = await lineOf('req-else');
  expect(l).toMatchObject({ level: 30, errorCode: 'route_not_found', res: { statusCode: 404 } });
  expect(l.res.headers).toBeDefined();
});

test('the client address follows the app’s trust-proxy setting, read per request', async () => {
  const via = await fetch(`${url}/proxy/address`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
  expect(await via.text()).toBe('203.0.113.7');
  const peer = await fetch(`${url}/proxy/address`);
  expect(await peer.text()).toBe('127.0.0.1');
  app.set('trust proxy', false);
  try {
    const untrusted = await fetch(`${url}/proxy/address`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(await untrusted.text()).toBe('127.0.0.1');
  } finally {
    app.set('trust proxy', 1);
  }
});

test('an error thrown by the route, or failed with later, is a 500 `internal` without its detail, logged as an error', async () => {
  for (const [path, id] of [
    ['/proxy/throw', 'req-throw'],
    ['/proxy/later', 'req-later'],
  ] as const) {
    const r = await fetch(`${url}${path}`, { headers: { 'x-request-id': id } });
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: expect.any(String) } });
    expect(text).not.toMatch(/thrown by the route|10\.0\.0\.5/);
    expect(await lineOf(id)).toMatchObject({ level: 50, errorCode: 'internal', res: { statusCode: 500 } });
  }
  expect(lines.filter((l) => l.msg === 'unhandled error').map((l) => l.err?.message)).toEqual(
    expect.arrayContaining(['thrown by the route', 'a socket error with 10.0.0.5:8080']),
  );
});

test('a `before` handler may answer the request itself; it is still logged and measured under the route', async () => {
  const r = await fetch(`${url}/proxy/ok`, { method: 'OPTIONS', headers: { 'x-request-id': 'req-pre' } });
  expect(r.status).toBe(204);
  expect(await lineOf('req-pre')).toMatchObject({ level: 20, res: { statusCode: 204 } });
  expect(await registry.metrics()).toMatch(/h_count\{method="OPTIONS",route="\/proxy\/\*",status_code="204"\} 1/);
});
