/**
 * JSON bodies (`src/json-body.ts`): parsed as `express.json()` did — charsets, content codings, byte-order mark, empty
 * and non-object bodies, the limit — and without iconv-lite's codec tables: a fresh `node` serving a JSON request
 * through `createApp` has loaded no iconv-lite encoding module (each instance process would otherwise hold them).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { createApp, defineRoute, type RouteDef } from '../src/index.js';

const run = promisify(execFile);
const kitDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const route = defineRoute<undefined>();
const routes: RouteDef[] = [
  route({
    method: 'post',
    path: '/echo',
    operationId: 'echo',
    summary: 'Answers the body it got',
    tags: ['t'],
    scope: 'none',
    body: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
    responses: { 200: { description: 'The body', schema: z.unknown() } },
    handler: ({ body }) => ({ body }),
  }),
];

/** createApp over {@link routes} with a 1024-byte limit. */
function app() {
  const registry = new Registry();
  return createApp({
    routes,
    logger: pino({ level: 'silent' }),
    registry,
    httpDuration: new Histogram({ name: 'd', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] }),
    bodyLimitBytes: 1024,
    openapi: () => ({}),
    authenticate: async () => undefined,
  });
}

let server: http.Server;
let url: string;
beforeAll(async () => {
  server = http.createServer(app());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const post = async (body: Uint8Array | string, headers: Record<string, string>) => {
  const res = await fetch(url, { method: 'POST', body, headers });
  const json = (await res.json()) as { body?: unknown; error?: { code: string; message: string } };
  return { status: res.status, body: json.body, code: json.error?.code, message: json.error?.message };
};
const utf16 = (s: string, be = false) => {
  const b = Buffer.from(s, 'utf16le');
  return be ? b.swap16() : b;
};
const json = 'application/json';

test('charsets utf-8 (the default) and utf-16 decode; a byte-order mark is skipped; others are 415', async () => {
  const doc = { name: 'Zoë ✓ 😀' };
  const text = JSON.stringify(doc);
  expect(await post(text, { 'content-type': json })).toMatchObject({ status: 200, body: doc });
  expect(await post(text, { 'content-type': 'application/vnd.x+json; charset=UTF-8' })).toMatchObject({ status: 200, body: doc });
  expect(await post(`\ufeff${text}`, { 'content-type': json })).toMatchObject({ status: 200, body: doc });
  expect(await post(utf16(text), { 'content-type': `${json}; charset=utf-16le` })).toMatchObject({ status: 200, body: doc });
  expect(await post(utf16(text, true), { 'content-type': `${json}; charset=utf-16be` })).toMatchObject({ status: 200, body: doc });
  for (const charset of ['latin1', 'utf-32', 'utf-7', 'utf-nonsense'])
    expect(await post('{}', { 'content-type': `${json}; charset=${charset}` })).toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
      message: `unsupported charset "${charset.toUpperCase()}"`,
    });
});

test('gzip, deflate and br bodies are inflated, the limit counting inflated bytes; other codings are 415', async () => {
  const doc = { list: [1, 2, 3] };
  const raw = Buffer.from(JSON.stringify(doc));
  for (const [coding, packed] of [
    ['gzip', zlib.gzipSync(raw)],
    ['deflate', zlib.deflateSync(raw)],
    ['br', zlib.brotliCompressSync(raw)],
  ] as const)
    expect(await post(packed, { 'content-type': json, 'content-encoding': coding })).toMatchObject({ status: 200, body: doc });
  const big = zlib.gzipSync(Buffer.from(JSON.stringify({ pad: ' '.repeat(5000) })));
  expect(big.length).toBeLessThan(1024);
  expect(await post(big, { 'content-type': json, 'content-encoding': 'gzip' })).toMatchObject({ status: 413, code: 'payload_too_large' });
  expect(await post('{}', { 'content-type': json, 'content-encoding': 'compress' })).toMatchObject({
    status: 415,
    code: 'unsupported_media_type',
  });
});

test('an empty body is {}; a body not an object or array, or not JSON, is 400 invalid_json; beyond the limit 413', async () => {
  expect(await post('', { 'content-type': json })).toMatchObject({ status: 200, body: {} });
  expect(await post(' [1]', { 'content-type': json })).toMatchObject({ status: 200, body: [1] });
  for (const bad of ['"text"', '12', ' ', '{"a":', 'nul'])
    expect(await post(bad, { 'content-type': json })).toMatchObject({
      status: 400,
      code: 'invalid_json',
      message: expect.stringMatching(/^The body is not valid JSON: /),
    });
  expect(await post(JSON.stringify({ pad: 'x'.repeat(2000) }), { 'content-type': json })).toMatchObject({
    status: 413,
    code: 'payload_too_large',
    message: 'The body exceeds 1024 bytes.',
  });
});

test('a node serving JSON bodies through createApp loads none of iconv-lite’s encodings', async () => {
  const dist = JSON.stringify(pathToFileURL(path.join(kitDir, 'dist', 'index.js')).href);
  const code = `
    import { createRequire } from 'node:module';
    import http from 'node:http';
    const { createApp } = await import(${dist});
    const { pino } = await import('pino');
    const { Histogram, Registry } = await import('prom-client');
    const registry = new Registry();
    const app = createApp({
      routes: [], logger: pino({ level: 'silent' }), registry, bodyLimitBytes: 1024, openapi: () => ({}),
      authenticate: async () => undefined,
      httpDuration: new Histogram({ name: 'd', help: 'h', labelNames: ['method', 'route', 'status_code'], registers: [registry] }),
    });
    const server = http.createServer(app);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = 'http://127.0.0.1:' + server.address().port;
    const statuses = [];
    for (const [body, type] of [['{"a":1}', 'application/json'], ['{"a":', 'application/json; charset=utf-8'], [Buffer.from('{}', 'utf16le'), 'application/json; charset=utf-16']])
      statuses.push((await fetch(base + '/v1/x', { method: 'POST', body, headers: { 'content-type': type } })).status);
    server.close();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      statuses,
      encodings: loaded.filter((f) => /node_modules\\/iconv-lite\\/encodings\\//.test(f)).length,
    }));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: kitDir, env });
  // 404 route_not_found: the body was read and parsed first (utf-8, then utf-16); 400 invalid_json.
  expect(JSON.parse(stdout.trim())).toEqual({ statuses: [404, 400, 404], encodings: 0 });
}, 60_000);
