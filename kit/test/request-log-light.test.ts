/**
 * Requests of a route known before the router (`AppOptions.lightRoute`, the api's gateway): logged and measured by
 * request-log-light.ts — the request id echoed, the completion line at the level of its status with its code and a
 * redacted URL, the duration metric labelled with that route, a response cut off logged as aborted — and the other
 * requests still by pino-http. Read back from the kit logger's (pino) own output and the registry.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Histogram, Registry } from 'prom-client';
import { HttpError, createApp, createLogger } from '../src/index.js';

const ROUTE = '/proxy/*';
const lines: Array<Record<string, any>> = [];
const registry = new Registry();
let server: http.Server;
let url: string;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, any>);
      cb();
    },
  });
  const app = createApp({
    routes: [],
    logger: createLogger({ service: 'test', level: 'debug', destination }),
    registry,
    httpDuration: new Histogram({ name: 'h', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] }),
    bodyLimitBytes: 1024,
    openapi: () => ({}),
    authenticate: async () => undefined,
    lightRoute: (req) => (req.url?.startsWith('/proxy/') ? ROUTE : undefined),
    before: [
      (req, res, next) => {
        if (req.path === '/proxy/ok') return void res.status(200).end('ok');
        if (req.path === '/proxy/gone') return next(new HttpError(404, 'instance_not_found', 'No such instance.'));
        if (req.path === '/proxy/cut') return void (res.writeHead(200, { 'content-length': '10' }), res.write('12345'), res.destroy());
        next();
      },
    ],
  });
  server = http.createServer(app);
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
