/**
 * Acceptance 5 (issue #2): malformed input on every endpoint → 4xx with a stable code and a clear message; never 5xx.
 */
import { startMongo, type MongoServer } from '@wacloud/testenv';
import { startInstance, startSimnet, type RunningInstance, type RunningSimnet } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let inst: RunningInstance;
let r: string;
let w: string;
let tokenId: string;

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  inst = await startInstance({ mongo, simnetUrl: simnet.url, env: { BODY_LIMIT_BYTES: String(64 * 1024) } });
  r = await inst.token('r');
  w = await inst.token('w');
  tokenId = (await inst.internal('GET', '/internal/v1/tokens')).body.items[0].id;
}, 60_000);

afterAll(async () => {
  await inst?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

function expectCoded(res: { status: number; body: any }, status: number, code: string, label: string): void {
  expect({ label, status: res.status, code: res.body?.error?.code }).toEqual({ label, status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(10);
}

test('message list filters', async () => {
  const bad: Array<[string, string]> = [
    ['since=yesterday', 'invalid_request'],
    ['until=2026-13-45', 'invalid_request'],
    ['limit=abc', 'invalid_request'],
    ['limit=0', 'invalid_request'],
    ['limit=501', 'invalid_request'],
    ['limit=-5', 'invalid_request'],
    ['limit=1.5', 'invalid_request'],
    ['fromMe=maybe', 'invalid_request'],
    ['isGroup=1', 'invalid_request'],
    ['chatId=not-an-id', 'invalid_request'],
    ['chatId[$gt]=', 'invalid_request'],
    ['q[$gt]=', 'invalid_request'],
    ['author[$ne]=x', 'invalid_request'],
    ['q=a&q=b', 'invalid_request'],
    ['unknown=1', 'invalid_request'],
    [`q=${'x'.repeat(300)}`, 'invalid_request'],
    ['cursor=not%20base64url', 'invalid_request'],
  ];
  for (const [query, code] of bad) expectCoded(await inst.api('GET', `/v1/messages?${query}`, { token: r }), 400, code, query);
  // Well-formed cursors this instance did not issue: 422 (the document's form is respected, the value is not one of ours).
  for (const cursor of ['garbage', Buffer.from('{"$gt":""}').toString('base64url')])
    expectCoded(await inst.api('GET', `/v1/messages?cursor=${cursor}`, { token: r }), 422, 'invalid_cursor', cursor);
  const res = await inst.api('GET', '/v1/messages?since=2026-11-22T10:00:00Z&limit=10', { token: r });
  expect(res.status).toBe(200);
  // An empty window (since not before until) is no messages, not an error.
  const empty = await inst.api('GET', '/v1/messages?since=2026-11-22T10:00:00Z&until=2026-11-01T00:00:00Z', { token: r });
  expect([empty.status, empty.body.items]).toEqual([200, []]);
});

test('contact filters and ids', async () => {
  for (const q of ['isGroup=yes', 'limit=x', 'q[$regex]=.*', 'cursor=%%%', 'isMyContact=2']) {
    const res = await inst.api('GET', `/v1/contacts?${q}`, { token: r });
    expect([q, res.status]).toEqual([q, 400]);
  }
  expectCoded(await inst.api('GET', '/v1/contacts/not-a-whatsapp-id', { token: r }), 400, 'invalid_request', 'contact id');
  expectCoded(await inst.api('GET', `/v1/messages/${'x'.repeat(300)}`, { token: r }), 400, 'invalid_request', 'message id');
  expectCoded(await inst.api('GET', '/v1/messages/unknown-id', { token: r }), 404, 'message_not_found', 'unknown message');
});

test('sending: bodies', async () => {
  const send = (opts: { body?: unknown; rawBody?: string; headers?: Record<string, string> }) =>
    inst.api('POST', '/v1/messages', { token: w, ...opts });
  expectCoded(await send({ rawBody: '{"to": "1555', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json', 'broken json');
  expectCoded(
    await send({ rawBody: 'to=1&text=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    415,
    'unsupported_media_type',
    'form',
  );
  expectCoded(await send({ rawBody: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type', 'text');
  expectCoded(await send({}), 400, 'invalid_request', 'no body');
  expectCoded(await send({ body: [] }), 400, 'invalid_request', 'array');
  expectCoded(await send({ body: { to: { $gt: '' }, text: 'x' } }), 400, 'invalid_request', 'operator in to');
  expectCoded(await send({ body: { to: '15550001', text: '' } }), 400, 'invalid_request', 'empty text');
  expectCoded(await send({ body: { to: 'abc', text: 'x' } }), 400, 'invalid_request', 'bad recipient');
  expectCoded(await send({ body: { to: '15550001', text: 5 } }), 400, 'invalid_request', 'numeric text');
  expectCoded(await send({ body: { to: '15550001', text: 'x', extra: true } }), 400, 'invalid_request', 'unknown field');
  expectCoded(await send({ body: { to: '15550001', text: 'x'.repeat(70_000) } }), 413, 'payload_too_large', 'oversized');
  expectCoded(await send({ body: { to: '15550001', text: 'hello' } }), 409, 'session_not_ready', 'not logged in');
});

test('session endpoints', async () => {
  expectCoded(await inst.api('POST', '/v1/session/login', { token: w, body: { phone: 'call me' } }), 400, 'invalid_request', 'phone');
  expectCoded(await inst.api('POST', '/v1/session/login', { token: w, body: { qr: true } }), 400, 'invalid_request', 'unknown');
  expectCoded(await inst.api('GET', '/v1/session/qr', { token: w }), 404, 'qr_not_available', 'no qr');
  expectCoded(await inst.api('GET', '/v1/screenshot', { token: r }), 409, 'session_not_ready', 'screenshot while stopped');
});

test('internal API bodies', async () => {
  const bad: Array<[string, string, unknown]> = [
    ['POST', '/internal/v1/tokens', { name: 'x', permissions: 'admin' }],
    ['POST', '/internal/v1/tokens', { name: '', permissions: 'r' }],
    ['POST', '/internal/v1/tokens', { permissions: 'r' }],
    ['POST', '/internal/v1/tokens', { name: { $gt: '' }, permissions: 'r' }],
    ['PATCH', `/internal/v1/tokens/${tokenId}`, { permissions: 'x' }],
    ['PATCH', `/internal/v1/tokens/${tokenId}`, {}],
    ['PATCH', '/internal/v1/tokens/not-an-id', { permissions: 'r' }],
    ['DELETE', '/internal/v1/tokens/%24gt', undefined],
    ['PUT', '/internal/v1/webhook', { url: 'ftp://example.invalid/x', events: [] }],
    ['PUT', '/internal/v1/webhook', { url: 'not a url', events: [] }],
    ['PUT', '/internal/v1/webhook', { url: 'http://127.0.0.1:1/x', events: ['everything'] }],
    ['PUT', '/internal/v1/webhook', { url: 'http://127.0.0.1:1/x', secret: 'short', events: ['message'] }],
  ];
  for (const [m, p, body] of bad) {
    const res = await inst.internal(m, p, body);
    expect({ m, p, body, status: res.status, code: res.body?.error?.code }).toEqual({ m, p, body, status: 400, code: 'invalid_request' });
  }
  const missing = await inst.internal('PATCH', '/internal/v1/tokens/0123456789abcdef', { permissions: 'r' });
  expectCoded(missing, 404, 'token_not_found', 'unknown token');
});

test('unknown routes and methods', async () => {
  expectCoded(await inst.api('GET', '/v1/nothing-here', { token: r }), 404, 'route_not_found', 'unknown');
  const wrong = await inst.api('DELETE', '/v1/messages', { token: r });
  expectCoded(wrong, 405, 'method_not_allowed', 'method');
  expect(wrong.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
});
