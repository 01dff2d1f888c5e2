/** The shared HTTP kit: validation, coded errors, body limits, 404s and the generated OpenAPI document. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import {
  HttpError,
  KIT_ERROR_CATALOGUE,
  buildOpenApi,
  createApp,
  defineRoute,
  errorCatalogue,
  type ResponseDef,
  type RouteDef,
} from '../src/index.js';

const route = defineRoute<{ user: string } | undefined>();
const routes: RouteDef[] = [
  route({
    method: 'post',
    path: '/v1/things/:id',
    operationId: 'makeThing',
    summary: 'Make a thing',
    tags: ['things'],
    scope: 'user',
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    query: z.object({ dry: z.enum(['true', 'false']).optional() }).strict(),
    body: z.object({ name: z.string().min(1) }).strict(),
    responses: { 201: { description: 'Made', schema: z.object({ id: z.string(), name: z.string(), by: z.string() }) } },
    handler: ({ params, body, auth }) => ({ id: params.id, name: body.name, by: auth!.user }),
  }),
  route({
    method: 'post',
    path: '/v1/uploads',
    operationId: 'upload',
    summary: 'Takes JSON or a multipart form (parsed by the handler)',
    tags: ['things'],
    scope: 'user',
    body: z.object({ url: z.string() }).strict(),
    multipart: { schema: z.object({ file: z.string().meta({ format: 'binary' }) }) },
    responses: { 200: { description: 'What came', schema: z.object({ kind: z.string() }) } },
    handler: ({ req, body }) => ({ kind: body ? 'json' : String(req.headers['content-type']).split(';')[0] }),
  }),
  route({
    method: 'get',
    path: '/v1/things/special',
    operationId: 'special',
    summary: 'A path of its own beside /v1/things/:id',
    tags: ['things'],
    scope: 'none',
    responses: { 200: { description: 'Special', schema: z.object({ special: z.boolean() }) } },
    handler: () => ({ special: true }),
  }),
  route({
    method: 'get',
    path: '/v1/boom',
    operationId: 'boom',
    summary: 'Fails',
    tags: ['things'],
    scope: 'none',
    responses: { 200: { description: 'never' } },
    handler: () => {
      throw new Error('secret internals');
    },
  }),
];

let server: http.Server;
let url: string;
beforeAll(async () => {
  const registry = new Registry();
  const app = createApp({
    routes,
    logger: pino({ level: 'silent' }),
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'h',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    bodyLimitBytes: 1024,
    openapi: () => ({ ok: true }),
    authenticate: async (req, scope) => {
      if (scope === 'none') return undefined;
      if (req.headers.authorization !== 'Bearer good') throw new HttpError(401, 'unauthorized', 'Send a good token.');
      return { user: 'alice' };
    },
  });
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const call = async (method: string, p: string, body?: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url + p, {
    method,
    body,
    headers: { authorization: 'Bearer good', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
  });
  return { status: res.status, body: (await res.json()) as any };
};

test('valid requests reach the handler with parsed input and the authenticated caller; POST answers 201', async () => {
  expect(await call('POST', '/v1/things/7', '{"name":"x"}')).toEqual({ status: 201, body: { id: '7', name: 'x', by: 'alice' } });
});

test('invalid input, bad JSON, big bodies, wrong media type, auth failures and unknown routes get coded 4xx', async () => {
  expect((await call('POST', '/v1/things/x', '{"name":"x"}')).body.error).toMatchObject({
    code: 'invalid_request',
    message: expect.stringContaining('path field "id"'),
  });
  expect((await call('POST', '/v1/things/7?dry=maybe', '{"name":"x"}')).body.error.code).toBe('invalid_request');
  expect((await call('POST', '/v1/things/7', '{"name":"x","extra":1}')).status).toBe(400);
  expect((await call('POST', '/v1/things/7', '{"name":')).body.error.code).toBe('invalid_json');
  expect((await call('POST', '/v1/things/7', JSON.stringify({ name: 'x'.repeat(2000) }))).status).toBe(413);
  expect((await call('POST', '/v1/things/7', 'name=x', { 'content-type': 'text/plain' })).status).toBe(415);
  expect((await call('POST', '/v1/things/7', '{"name":"x"}', { authorization: 'Bearer bad' })).body.error.code).toBe('unauthorized');
  expect(await call('GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: { code: 'route_not_found' } } });
  // Text holding NUL (U+0000), in the body or the query: 422 nul_character naming the field, before the handler.
  expect(await call('POST', '/v1/things/7', JSON.stringify({ name: 'a\u0000b' }))).toMatchObject({
    status: 422,
    body: { error: { code: 'nul_character', message: expect.stringContaining('body field "name"') } },
  });
});

test("kit's errors carry the catalogue's status, a message naming the specifics, and structured details", async () => {
  const cases: Array<[Promise<{ status: number; body: any }>, keyof typeof KIT_ERROR_CATALOGUE, RegExp, unknown]> = [
    [
      call('GET', '/v1/nothing'),
      'route_not_found',
      /^No endpoint GET \/v1\/nothing; see \/openapi\.json\.$/,
      { method: 'GET', path: '/v1/nothing' },
    ],
    [call('POST', '/v1/things/7', '{"name":'), 'invalid_json', /^The body is not valid JSON: /, undefined],
    [
      call('POST', '/v1/things/7', JSON.stringify({ name: 'x'.repeat(2000) })),
      'payload_too_large',
      /^The body exceeds 1024 bytes\.$/,
      { limitBytes: 1024 },
    ],
    [
      call('POST', '/v1/things/7', 'name=x', { 'content-type': 'text/plain' }),
      'unsupported_media_type',
      /got text\/plain/,
      { contentType: 'text/plain' },
    ],
    [call('GET', '/v1/boom'), 'internal', /^Unexpected error; it was logged\.$/, undefined],
  ];
  for (const [res, code, message, details] of cases) {
    const { status } = KIT_ERROR_CATALOGUE[code];
    expect(await res).toEqual({
      status,
      body: { error: { code, message: expect.stringMatching(message), ...(details === undefined ? {} : { details }) } },
    });
  }
});

test('a known path with another method: 405 method_not_allowed with Allow; OPTIONS answers 204 with Allow', async () => {
  const res = await fetch(`${url}/v1/things/7`, { method: 'DELETE' });
  expect(res.status).toBe(405);
  expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  expect(await res.json()).toEqual({
    error: { code: 'method_not_allowed', message: expect.stringContaining('use POST'), details: { method: 'DELETE', allow: ['POST'] } },
  });
  const get = await fetch(`${url}/v1/boom`, { method: 'PUT' });
  expect([get.status, get.headers.get('allow')]).toEqual([405, 'GET, HEAD, OPTIONS']);
  const docs = await fetch(`${url}/openapi.json`, { method: 'POST' });
  expect([docs.status, docs.headers.get('allow')]).toEqual([405, 'GET, HEAD, OPTIONS']);
  const options = await fetch(`${url}/v1/things/7`, { method: 'OPTIONS' });
  expect([options.status, options.headers.get('allow')]).toEqual([204, 'POST, OPTIONS']);
  // A path of its own beside a parameter route: its 405, not the parameter route's answer.
  const fixed = await fetch(`${url}/v1/things/special`, {
    method: 'POST',
    body: '{"name":"x"}',
    headers: { 'content-type': 'application/json', authorization: 'Bearer good' },
  });
  expect([fixed.status, fixed.headers.get('allow')]).toEqual([405, 'GET, HEAD, OPTIONS']);
  // An unknown path stays a 404, whatever the method.
  expect((await fetch(`${url}/v1/nothing`, { method: 'DELETE' })).status).toBe(404);
});

test("the document lists kit's own answers (input, body limits, media type) besides the route's", () => {
  const doc = buildOpenApi({
    title: 't',
    version: '1',
    description: 'd',
    groups: [{ server: 'x', routes }],
    securitySchemes: {},
    security: () => [],
    commonResponses: (r): Record<number, ResponseDef> => (r.scope === 'none' ? {} : { 401: { description: '`unauthorized`: no token' } }),
  }) as any;
  expect(Object.keys(doc.paths['/v1/things/{id}'].post.responses).sort()).toEqual(['201', '400', '401', '413', '415', '422']);
  expect(doc.paths['/v1/things/{id}'].post.responses['400'].content['application/json'].schema.properties.error).toBeDefined();
  expect(Object.keys(doc.paths['/v1/boom'].get.responses)).toEqual(['200']);
});

test('unexpected errors become a 500 without internals', async () => {
  const r = await call('GET', '/v1/boom');
  expect(r.status).toBe(500);
  expect(JSON.stringify(r.body)).not.toContain('secret internals');
});

test('errorCatalogue gives typed codes with their status and default message', () => {
  const E = errorCatalogue({ nope: { status: 409, message: 'No.' } });
  const e = new E('nope');
  expect(e).toBeInstanceOf(HttpError);
  expect(e.toJSON()).toEqual({ error: { code: 'nope', message: 'No.' } });
  expect(e.status).toBe(409);
});

test('buildOpenApi documents params, query, body, responses and security per scope', () => {
  const doc = buildOpenApi({
    title: 't',
    version: '1',
    description: 'd',
    groups: [{ server: 'public', routes }],
    securitySchemes: { jwt: { type: 'http', scheme: 'bearer' } },
    security: (s) => (s === 'none' ? [] : [{ jwt: [] }]),
  }) as any;
  const op = doc.paths['/v1/things/{id}'].post;
  expect(op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(['path:id', 'query:dry']);
  expect(op.requestBody.content['application/json'].schema.required).toEqual(['name']);
  expect(op.security).toEqual([{ jwt: [] }]);
  expect(doc.paths['/v1/boom'].get.security).toEqual([]);
});

test('multipart/form-data reaches only routes that declare it (the handler parses it); others answer 415; the document lists both bodies', async () => {
  const form = 'multipart/form-data; boundary=XyZ';
  const part = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--XyZ--\r\n';
  expect(await call('POST', '/v1/uploads', part, { 'content-type': form })).toEqual({ status: 200, body: { kind: 'multipart/form-data' } });
  expect(await call('POST', '/v1/uploads', JSON.stringify({ url: 'x' }))).toEqual({ status: 200, body: { kind: 'json' } });
  const refused = await call('POST', '/v1/things/7', part, { 'content-type': form });
  expect([refused.status, (refused.body as { error: { code: string } }).error.code]).toEqual([415, 'unsupported_media_type']);
  const doc = buildOpenApi({
    title: 't',
    version: '1',
    description: 'd',
    groups: [{ server: 's', routes }],
    securitySchemes: {},
    security: () => [],
  }) as {
    paths: Record<string, Record<string, { requestBody: { content: Record<string, unknown> } }>>;
  };
  expect(Object.keys(doc.paths['/v1/uploads']!.post!.requestBody.content)).toEqual(['application/json', 'multipart/form-data']);
  expect(Object.keys(doc.paths['/v1/things/{id}']!.post!.requestBody.content)).toEqual(['application/json']);
});
