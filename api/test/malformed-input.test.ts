/**
 * Issue #4 acceptance 4: malformed input on every endpoint → 4xx with a stable code and a clear message; never 5xx.
 * Also: /openapi.json matches the routes the api serves.
 */
import { startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let token: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { BODY_LIMIT_BYTES: '4096' } });
  token = await tenant(api, 'malformed@example.com', 1_000);
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const cases: Array<[string, string, { body?: unknown; raw?: string; headers?: Record<string, string>; auth?: boolean }, number, string]> = [
  ['POST', '/v1/auth/register', { body: { email: 'not-an-email', password: 'long enough pw' } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/register', { body: { email: 'a@b.co', password: 'short' } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/register', { body: { email: { $gt: '' }, password: 'long enough pw' } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/register', { body: { email: 'a@b.co', password: 'long enough pw', admin: true } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/register', { raw: '{"email":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
  [
    'POST',
    '/v1/auth/register',
    { raw: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    415,
    'unsupported_media_type',
  ],
  ['POST', '/v1/auth/register', { body: { email: 'a@b.co', password: 'x'.repeat(5000) } }, 413, 'payload_too_large'],
  ['POST', '/v1/auth/register', { body: { email: 'malformed@example.com', password: 'another password' } }, 409, 'email_taken'],
  ['POST', '/v1/auth/login', { body: { email: 'malformed@example.com' } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/login', { body: { email: 'malformed@example.com', password: { $ne: 'x' } } }, 400, 'invalid_request'],
  ['POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: 'whatever123' } }, 401, 'invalid_credentials'],
  ['POST', '/v1/auth/logout', { auth: false }, 401, 'unauthorized'],
  ['GET', '/v1/me', { auth: false }, 401, 'unauthorized'],
  ['POST', '/v1/wallet/deposits', { auth: true, body: { amount: -5 } }, 400, 'invalid_request'],
  ['POST', '/v1/wallet/deposits', { auth: true, body: { amount: 0 } }, 400, 'invalid_request'],
  ['POST', '/v1/wallet/deposits', { auth: true, body: { amount: 12.5 } }, 400, 'invalid_request'],
  ['POST', '/v1/wallet/deposits', { auth: true, body: { amount: '100' } }, 400, 'invalid_request'],
  ['POST', '/v1/wallet/deposits', { auth: true, body: { amount: 1e15 } }, 400, 'invalid_request'],
  [
    'POST',
    '/v1/wallet/deposits',
    { auth: true, body: { amount: 100 }, headers: { 'idempotency-key': 'bad key with spaces' } },
    400,
    'invalid_request',
  ],
  ['GET', '/v1/wallet/transactions?limit=0', { auth: true }, 400, 'invalid_request'],
  ['GET', '/v1/wallet/transactions?limit=abc', { auth: true }, 400, 'invalid_request'],
  ['GET', '/v1/wallet/transactions?cursor=zzz', { auth: true }, 400, 'invalid_cursor'],
  ['GET', '/v1/wallet/transactions?seq[$gt]=1', { auth: true }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: {} }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: { name: '' } }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: { name: 'x'.repeat(65) } }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: { name: '<script>' } }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: { name: 'ok', owner: 'someone' } }, 400, 'invalid_request'],
  ['POST', '/v1/instances', { auth: true, body: { name: 'too-expensive' } }, 402, 'insufficient_funds'],
  ['GET', '/v1/instances/not-an-id', { auth: true }, 400, 'invalid_request'],
  ['GET', '/v1/instances/i-aaaaaaaaaaaa', { auth: true }, 404, 'instance_not_found'],
  ['DELETE', '/v1/instances/i-aaaaaaaaaaaa', { auth: true }, 404, 'instance_not_found'],
  ['POST', '/v1/instances/i-aaaaaaaaaaaa/tokens', { auth: true, body: { name: 't', permissions: 'admin' } }, 400, 'invalid_request'],
  ['POST', '/v1/instances/i-aaaaaaaaaaaa/tokens', { auth: true, body: { name: 't', permissions: 'r' } }, 404, 'instance_not_found'],
  ['GET', '/v1/instances/i-aaaaaaaaaaaa/tokens', { auth: true }, 404, 'instance_not_found'],
  ['PATCH', '/v1/instances/i-aaaaaaaaaaaa/tokens/xyz', { auth: true, body: { permissions: 'r' } }, 400, 'invalid_request'],
  ['PATCH', '/v1/instances/i-aaaaaaaaaaaa/tokens/0123456789abcdef', { auth: true, body: { permissions: 'x' } }, 400, 'invalid_request'],
  ['DELETE', '/v1/instances/i-aaaaaaaaaaaa/tokens/0123456789abcdef', { auth: true }, 404, 'instance_not_found'],
  ['GET', '/v1/instances/i-aaaaaaaaaaaa/api/v1/messages', { auth: true }, 404, 'instance_not_found'],
  ['GET', '/v1/instances/i-aaaaaaaaaaaa/api/v1/messages', { auth: false }, 401, 'unauthorized'],
  ['GET', '/v1/nothing', { auth: true }, 404, 'route_not_found'],
];

test.each(cases)('%s %s %j → %d %s', async (method, p, o, status, code) => {
  const r = await api.call(method, p, { token: o.auth ? token : undefined, body: o.body, raw: o.raw, headers: o.headers });
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(r.body.error.message.length).toBeGreaterThan(10);
});

test('the api serves exactly the routes /openapi.json documents', async () => {
  const doc = (await api.call('GET', '/openapi.json')).body;
  expect(doc.openapi).toBe('3.1.0');
  const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => [m.toUpperCase(), p.replace(/\{(\w+)\}/g, ':$1')] as const),
  );
  expect(documented.length).toBeGreaterThanOrEqual(16);
  for (const [m, p] of documented) {
    const concrete = p.replace(':tokenId', '0123456789abcdef').replace(':id', 'i-aaaaaaaaaaaa');
    const r = await api.call(m, concrete, { token });
    expect([m, p, r.body?.error?.code]).not.toEqual([m, p, 'route_not_found']);
  }
  // A documented path with a method it does not take: 405 with Allow (the methods it takes) and a coded body.
  for (const [m, p, allow] of [
    ['PUT', '/v1/me', 'GET, HEAD, PATCH, OPTIONS'],
    ['GET', '/v1/auth/login', 'POST, OPTIONS'],
    ['POST', '/v1/pricing', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/v1/instances', 'POST, GET, HEAD, OPTIONS'],
    ['PUT', '/openapi.json', 'GET, HEAD, OPTIONS'],
  ] as const) {
    const r = await api.call(m, p, { token });
    expect({ m, p, status: r.status, allow: r.headers.get('allow'), code: r.body.error.code, details: r.body.error.details }).toEqual({
      m,
      p,
      status: 405,
      allow,
      code: 'method_not_allowed',
      details: { method: m, allow: allow.replace(', OPTIONS', '').split(', ') },
    });
  }
});
