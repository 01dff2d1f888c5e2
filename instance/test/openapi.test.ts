/**
 * /openapi.json is checked against the routes the express applications really serve (both directions); the internal
 * port's document covers both APIs, the public port's the public API only. A known path asked with another method
 * answers 405 with Allow on both ports.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { pino } from 'pino';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadInstanceConfig } from '../src/config.js';
import { createSimnetServer } from '@wacloud/simnet';
import { startInstanceApp, type InstanceApp } from '../src/instance-app.js';
import { publicOpenApi } from '../src/openapi.js';

let mongo: MongoServer;
let simnet: Awaited<ReturnType<typeof createSimnetServer>>;
let svc: InstanceApp;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await createSimnetServer({ port: 0, host: '127.0.0.1' });
  const config = loadInstanceConfig({
    PORT: '0',
    INTERNAL_PORT: '0',
    HOST: '127.0.0.1',
    MONGODB_URI: mongo.dbUri(uniqueDbName('openapi')),
    INTERNAL_API_KEY: 'openapi-test-internal-key',
    ENGINE: 'simulated',
    SIMNET_URL: simnet.url,
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'wacloud-openapi-')),
  });
  svc = await startInstanceApp(config, pino({ level: 'silent' }));
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await simnet?.close();
  await mongo?.stop();
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (METHOD path) an express app serves, walking nested routers. */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const l of stack) {
      if (l.route)
        // `_all`: kit's 405 handlers (a known path with another method), not routes.
        for (const m of Object.keys(l.route.methods).filter((m) => m !== '_all'))
          out.push(`${m.toUpperCase()} ${l.route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      else if (l.handle?.stack) walk(l.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

const COMMON = ['GET /metrics', 'GET /openapi.json'];

test('every served route is documented, every documented route is served, on the right port', async () => {
  const doc = (await (await fetch(`${svc.internalUrl}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<string, Record<string, { 'x-wacloud-server': string; operationId: string; responses: object }>>;
  };
  expect(doc.openapi).toBe('3.1.0');
  const documented = { public: [] as string[], internal: [] as string[] };
  const ids = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      documented[op['x-wacloud-server'] as 'public' | 'internal'].push(`${m.toUpperCase()} ${p}`);
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
  }
  expect(servedRoutes(svc.apps.public)).toEqual([...documented.public, ...COMMON].sort());
  expect(servedRoutes(svc.apps.internal)).toEqual([...documented.internal, ...COMMON].sort());
  expect(documented.public).toEqual(
    expect.arrayContaining([
      'GET /v1/messages',
      'POST /v1/messages',
      'GET /v1/messages/{id}',
      'GET /v1/contacts',
      'GET /v1/contacts/{id}',
      'POST /v1/session/login',
      'POST /v1/session/logout',
      'GET /v1/session/qr',
      'GET /v1/screenshot',
      'GET /v1/stats',
      'GET /v1/token',
      'GET /health',
    ]),
  );
  expect(documented.internal).toEqual(
    expect.arrayContaining([
      'POST /internal/v1/tokens',
      'GET /internal/v1/tokens',
      'PATCH /internal/v1/tokens/{id}',
      'DELETE /internal/v1/tokens/{id}',
      'GET /internal/v1/webhook',
      'PUT /internal/v1/webhook',
      'GET /internal/v1/stats',
    ]),
  );
  // The public port documents the public routes only.
  const publicDoc = (await (await fetch(`${svc.publicUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(publicDoc.paths).filter((p) => p.startsWith('/internal'))).toEqual([]);
  expect(JSON.stringify(publicDoc)).not.toContain('internalKey');
});

test('a known path with a method it does not take: 405 method_not_allowed with Allow, on both ports', async () => {
  const cases: Array<[string, string, string, string]> = [
    [svc.publicUrl, 'DELETE', '/v1/messages', 'GET, HEAD, POST, OPTIONS'],
    [svc.publicUrl, 'PUT', '/v1/session/login', 'POST, OPTIONS'],
    [svc.publicUrl, 'POST', '/health', 'GET, HEAD, OPTIONS'],
    [svc.internalUrl, 'PUT', '/internal/v1/tokens', 'POST, GET, HEAD, OPTIONS'],
  ];
  for (const [base, method, p, allow] of cases) {
    const res = await fetch(base + p, { method });
    const body = (await res.json()) as { error: { code: string; details: { allow: string[] } } };
    expect({ p, method, status: res.status, allow: res.headers.get('allow'), code: body.error.code }).toEqual({
      p,
      method,
      status: 405,
      allow,
      code: 'method_not_allowed',
    });
  }
});

test("both ports keep an idle connection 65 s (kit's holdIdleConnections): the gateway's connections outlive pauses", async () => {
  for (const url of [`${svc.publicUrl}/health`, `${svc.internalUrl}/internal/v1/tokens`]) {
    const res = await fetch(url, { headers: { authorization: 'Bearer openapi-test-internal-key' } });
    await res.arrayBuffer();
    expect({ url, keepAlive: res.headers.get('keep-alive') }).toEqual({ url, keepAlive: 'timeout=65' });
  }
});

test('query parameters of GET /v1/messages are documented with their schemas', async () => {
  const doc = (await (await fetch(`${svc.publicUrl}/openapi.json`)).json()) as any;
  const params = doc.paths['/v1/messages'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
  expect(params.sort()).toEqual([
    'query:author',
    'query:chatId',
    'query:cursor',
    'query:fromMe',
    'query:isGroup',
    'query:limit',
    'query:q',
    'query:since',
    'query:until',
  ]);
  expect(doc.paths['/v1/messages'].post.requestBody.content['application/json'].schema.required).toEqual(['to', 'text']);
});

test("the printed document (node dist/openapi.js, what the dashboard's models come from) is the served one without the internal routes", async () => {
  type Ops = Record<string, { 'x-wacloud-server': string }>;
  const served = (await (await fetch(`${svc.internalUrl}/openapi.json`)).json()) as { info: unknown; paths: Record<string, Ops> };
  const publicPaths = Object.entries(served.paths)
    .map(([p, ops]) => [p, Object.fromEntries(Object.entries(ops).filter(([, op]) => op['x-wacloud-server'] === 'public'))] as const)
    .filter(([, ops]) => Object.keys(ops).length > 0);
  const printed = publicOpenApi() as { info: unknown; paths: Record<string, Ops> };
  expect(printed.info).toEqual(served.info);
  expect(printed.paths).toEqual(Object.fromEntries(publicPaths));
});

test('/metrics exposes the instance metrics', async () => {
  const text = await (await fetch(`${svc.publicUrl}/metrics`)).text();
  for (const name of [
    'wacloud_messages_total',
    'wacloud_webhook_deliveries_total',
    'wacloud_outbox_depth',
    'wacloud_session_state',
    'http_request_duration_seconds',
    'wacloud_persist_buffered',
  ]) {
    expect(text).toContain(name);
  }
  expect(text).toMatch(/wacloud_session_state\{state="STOPPED"\} 1/);
});
