/**
 * The request log of kit's express app (issue 14 item 3): expected answers — any coded 4xx, and a 503 "retry shortly"
 * — are logged at info / warn without an error object or stack trace (they used to be: pino-http makes up a "failed
 * with status code 503" error, stack included, at level error); a 500 is still an error with its stack. Read back from
 * the kit logger's (pino) own output.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Histogram, Registry } from 'prom-client';
import { HttpError, createApp, createLogger, defineRoute, type RouteDef } from '../src/index.js';
import { logLines } from './log-lines.js';

const route = defineRoute<undefined>();
const failing = (path: string, fail: () => never): RouteDef =>
  route({
    method: 'get',
    path,
    operationId: path.replaceAll('/', '_'),
    summary: 'Fails',
    tags: ['t'],
    scope: 'none',
    responses: { 200: { description: 'never' } },
    handler: () => fail(),
  });
const routes: RouteDef[] = [
  failing('/v1/gone', () => {
    throw new HttpError(404, 'instance_not_found', 'No such instance.');
  }),
  failing('/v1/busy', () => {
    throw new HttpError(409, 'instance_suspended', 'Suspended.');
  }),
  failing('/v1/starting', () => {
    throw new HttpError(503, 'instance_unavailable', 'The instance is not reachable yet; retry shortly.');
  }),
  failing('/v1/boom', () => {
    throw new Error('a real bug');
  }),
];

const { destination, lines } = logLines();
let server: http.Server;
let url: string;

beforeAll(async () => {
  const registry = new Registry();
  const app = createApp({
    routes,
    logger: createLogger({ service: 'test', level: 'debug', destination }),
    registry,
    httpDuration: new Histogram({ name: 'h', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] }),
    bodyLimitBytes: 1024,
    openapi: () => ({}),
    authenticate: async () => undefined,
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The request log line of a GET of `path` (after its answer). */
async function requestLine(path: string, status: number): Promise<Record<string, any>> {
  const res = await fetch(url + path);
  expect(res.status).toBe(status);
  await res.text();
  for (let i = 0; i < 50; i++) {
    const l = lines.find((x) => x.req?.url === path && x.res);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request log line for ${path}`);
}

test.each([
  ['/v1/gone', 404, 30, 'instance_not_found'],
  ['/v1/busy', 409, 30, 'instance_suspended'],
  ['/v1/starting', 503, 40, 'instance_unavailable'],
])('an expected %s answer (%i) is logged at level %i with its code, no error object, no stack', async (path, status, level, code) => {
  const l = await requestLine(path, status);
  expect(l).toMatchObject({ level, errorCode: code, msg: 'request completed' });
  expect(l.err).toBeUndefined();
  expect(JSON.stringify(l)).not.toMatch(/stack|\n\s+at /);
});

test('an unexpected 500 is still logged as an error, with its stack', async () => {
  const l = await requestLine('/v1/boom', 500);
  expect(l).toMatchObject({ level: 50, errorCode: 'internal', msg: 'request errored' });
  expect(l.err?.stack).toEqual(expect.stringContaining('failed with status code 500'));
  // The handler's own error is logged once, at error level, with its stack.
  expect(lines.find((x) => x.msg === 'unhandled error')?.err?.stack).toEqual(expect.stringContaining('a real bug'));
});
