/**
 * Issue 18 item 7, the dashboard served by the api (DASHBOARD_DIR): its files are compressed for browsers that accept
 * it, content-hashed bundles are cached for a year as immutable, `index.html` (and client-side routes) revalidate on
 * every load, `config.json` is never stored, and the API's own answers are left as they were.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startApiProcess, type RunningApi } from './harness.js';

let mongo: MongoServer;
let api: RunningApi;
const dist = mkdtempSync(path.join(os.tmpdir(), 'wacloud-dash-static-'));
const bundle = `export const x = ${JSON.stringify('a compressible line of the bundle; '.repeat(200))};\n`;
const INDEX = '<!doctype html><html><body><app-root></app-root><script src="main-ABCD1234.js" type="module"></script></body></html>';

beforeAll(async () => {
  writeFileSync(path.join(dist, 'index.html'), INDEX);
  writeFileSync(path.join(dist, 'main-ABCD1234.js'), bundle);
  writeFileSync(path.join(dist, 'config.json'), '{"apiBaseUrl":""}');
  mongo = await startMongo();
  api = await startApiProcess({
    mongo,
    db: uniqueDbName('dash-static'),
    env: { DASHBOARD_DIR: dist, SIMNET_URL: 'http://127.0.0.1:9', RECONCILE_ON_START: 'false' },
  });
});

afterAll(async () => {
  await api?.stop();
  await mongo?.stop();
  rmSync(dist, { recursive: true, force: true });
});

/** A raw GET (fetch would decompress and hide the encoding). */
async function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await request(`${api.url}${p}`, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
  return { status: res.statusCode, headers: h, body };
}

test('a hashed bundle is gzipped for a browser that accepts it and cached for a year as immutable', async () => {
  const r = await get('/main-ABCD1234.js', { 'accept-encoding': 'gzip' });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-encoding')).toBe('gzip');
  expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect(r.body.length).toBeLessThan(bundle.length / 5);
  expect(gunzipSync(r.body).toString()).toBe(bundle);
});

test('without Accept-Encoding the bundle is sent as is', async () => {
  const r = await get('/main-ABCD1234.js');
  expect(r.headers.get('content-encoding')).toBeNull();
  expect(r.body.toString()).toBe(bundle);
});

test('index.html and client-side routes revalidate on every load; config.json is never stored', async () => {
  for (const p of ['/', '/instances', '/inbox']) {
    const r = await get(p, { accept: 'text/html' });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.body.toString()).toBe(INDEX);
  }
  expect((await get('/config.json')).headers.get('cache-control')).toBe('no-store');
});

test("the API's own answers are not compressed by the dashboard's handlers", async () => {
  const r = await get('/v1/no-such-route', { 'accept-encoding': 'gzip', accept: 'application/json' });
  expect(r.status).toBe(404);
  expect(r.headers.get('content-encoding')).toBeNull();
});
