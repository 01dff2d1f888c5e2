/**
 * The gateway under hostile clients, with real api, instance and simnet processes (process provider):
 * - TCP resets during a WebSocket upgrade must not end the api (it used to die of an unhandled ECONNRESET);
 * - an instance token is checked before anything is forwarded: a made-up `wai_…` token reads nothing (it used to read
 *   the instance's /health with the linked phone, its /metrics and /openapi.json);
 * - only the instance's `/v1/…` routes and a state-only `/health` are reachable, never `/metrics`, also not by `..`;
 * - client WebSocket frames above 64 KiB are refused by the gateway itself.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { eventually, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let owner: string;
let id: string;
const phone = '15550007001';

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  api = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    env: { BILLING_CRON: 'false', CORS_ORIGINS: DASHBOARD, BODY_LIMIT_BYTES: '64k' },
  });
  owner = await tenant(api, 'gateway-owner@example.com', 10_000);
  const created = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'gw' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  await eventually(async () => (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body.phase === 'Running', 30_000);
  const login = await api.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
  await eventually(async () => (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body.sessionState === 'WORKING', 15_000);
}, 90_000);

afterAll(async () => {
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const port = () => Number(new URL(api.url).port);
/** The dashboard's origin allowed by CORS_ORIGINS. */
const DASHBOARD = 'https://dashboard.example';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends a WebSocket upgrade request for `path` with `token`, waits `delayMs`, then resets the TCP connection (RST). */
async function resetDuringUpgrade(path: string, token: string, delayMs: number): Promise<void> {
  const s = net.connect(port(), '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
  );
  await sleep(delayMs);
  s.resetAndDestroy();
}

/** GET with the path sent exactly as written (fetch would resolve `..` before sending). */
function rawGet(path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: port(), path, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

describe('item 1: one client cannot end the api', () => {
  test('TCP resets during a gateway WebSocket upgrade carrying "Bearer wai_x" leave the api answering', async () => {
    const paths = [`/v1/instances/${id}/api/v1/events`, '/v1/instances/i-aaaaaaaaaaaa/api/v1/events'];
    for (const delayMs of [0, 1, 2, 3, 5, 8, 12, 20, 40, 80]) for (const p of paths) await resetDuringUpgrade(p, 'wai_x', delayMs);
    await sleep(300);
    const health = await api.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(api.proc.output()).not.toMatch(/ECONNRESET/);
    // And the gateway still relays: the owner's event stream opens.
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/v1/instances/${id}/api/v1/events`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    const first = await new Promise<{ event: string }>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.once('error', reject);
      setTimeout(() => reject(new Error('no first event within 10 s')), 10_000).unref();
    });
    expect(first.event).toBe('session.status');
    ws.close();
  });
});

describe('item 3: the gateway checks instance tokens and forwards only the public routes', () => {
  test('a made-up instance token reads nothing: not /health (phone), /metrics, /openapi.json or /v1/…', async () => {
    const wellFormed = `wai_0123456789abcdef_${'A'.repeat(43)}`;
    for (const token of ['wai_bogus', wellFormed]) {
      for (const p of ['/health', '/metrics', '/openapi.json', '/v1/stats', '/v1/token']) {
        const r = await api.call('GET', `/v1/instances/${id}/api${p}`, { token });
        expect({ token, p, status: r.status, leaks: JSON.stringify(r.body ?? '').includes(phone) }).toEqual({
          token,
          p,
          status: p.startsWith('/v1/') || p === '/health' || p === '/openapi.json' ? 401 : 404,
          leaks: false,
        });
      }
    }
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${api.url.replace('http', 'ws')}/v1/instances/${id}/api/v1/events`, {
          headers: { authorization: 'Bearer wai_bogus' },
        });
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      }),
    ).rejects.toThrow('HTTP 401');
  });

  test('the owner and a real token reach /v1/…, a state-only /health and the public document; /metrics never, not even by ".."', async () => {
    const created = await api.call('POST', `/v1/instances/${id}/tokens`, { token: owner, body: { name: 'reader', permissions: 'r' } });
    expect(created.status).toBe(201);
    for (const token of [owner, created.body.token as string]) {
      const health = await api.call('GET', `/v1/instances/${id}/api/health`, { token });
      expect(health.status).toBe(200);
      expect(health.body.session).toEqual({ state: 'WORKING' });
      expect(JSON.stringify(health.body)).not.toContain(phone);
      expect((await api.call('GET', `/v1/instances/${id}/api/v1/messages`, { token })).status).toBe(200);
      for (const p of ['/metrics', '/docs', '/'])
        expect({ p, status: (await api.call('GET', `/v1/instances/${id}/api${p}`, { token })).status }).toEqual({ p, status: 404 });
      // /openapi.json is the gateway's rewrite of the instance's public document: no internal route, no probe.
      const doc = await api.call('GET', `/v1/instances/${id}/api/openapi.json`, { token });
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths).filter((p) => p.startsWith('/internal') || p.startsWith('/health/'))).toEqual([]);
      for (const p of ['/v1/../metrics', '/v1/%2e%2e/metrics', '/v1/%2E%2E/openapi.json', '/health/../metrics']) {
        const r = await rawGet(`/v1/instances/${id}/api${p}`, token);
        expect({ p, status: r.status, metrics: r.body.includes('# HELP') }).toEqual({ p, status: 404, metrics: false });
      }
    }
  });
});

describe("a body held for the gateway's own credential (BODY_LIMIT_BYTES 64k here, the instance's 256k)", () => {
  /**
   * POSTs `body` with `token`, in 16 KiB chunks without a declared length unless `declared` (through `agent`, default
   * none: a connection of its own); the status and the JSON answer.
   */
  const post = (token: string, body: Buffer, declared = false, agent: http.Agent | false = false) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      if (declared) headers['content-length'] = String(body.length);
      const path = `/v1/instances/${id}/api/v1/messages`;
      const req = http.request({ host: '127.0.0.1', port: port(), path, method: 'POST', headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text || 'null') }));
      });
      req.on('error', reject);
      for (let at = 0; at < body.length; at += 16_384) req.write(body.subarray(at, at + 16_384));
      req.end();
    });
  /** A message the instance accepts, padded with JSON whitespace to `bytes`. */
  const padded = (text: string, bytes: number) => {
    const json = JSON.stringify({ to: '15550007999', text });
    return Buffer.from(json + ' '.repeat(Math.max(0, bytes - json.length)));
  };

  test('past the limit it is 413 payload_too_large from the gateway, chunked or declared; within it, it is sent', async () => {
    const large = padded('too large to hold', 100 * 1024);
    for (const declared of [false, true]) {
      const r = await post(owner, large, declared);
      expect({ declared, status: r.status, error: r.body.error }).toEqual({
        declared,
        status: 413,
        error: { code: 'payload_too_large', message: `The body exceeds ${64 * 1024} bytes.`, details: { limitBytes: 64 * 1024 } },
      });
    }
    // The instance takes that very body (its limit is 256 KiB): with an instance token it streams through.
    const rw = await api.call('POST', `/v1/instances/${id}/tokens`, { token: owner, body: { name: 'sender', permissions: 'rw' } });
    expect(rw.status).toBe(201);
    const streamed = await post(rw.body.token as string, large, true);
    expect({ status: streamed.status, body: streamed.body.body }).toEqual({ status: 202, body: 'too large to hold' });
    // Within the limit, chunked: held whole and sent with the gateway's credential.
    const held = await post(owner, padded('within the limit', 1024));
    expect({ status: held.status, body: held.body.body }).toEqual({ status: 202, body: 'within the limit' });
  });

  test('a 413 answered before the body was read: the rest is dropped and the next request on a keep-alive agent answered', async () => {
    // 8 MB: more than the sockets' buffers hold, so the unread rest of the body would stall the connection.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await post(owner, padded('far too large', 8 * 1024 * 1024), true, agent);
      expect([refused.status, refused.body.error.code]).toEqual([413, 'payload_too_large']);
      const next = await Promise.race([
        post(owner, padded('after the refusal', 1024), true, agent),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the next request was not answered in 10 s')), 10_000)),
      ]);
      expect({ status: next.status, body: next.body.body }).toEqual({ status: 202, body: 'after the refusal' });
    } finally {
      agent.destroy();
    }
  });
});

describe('CORS on the gateway (a dashboard on another origin)', () => {
  test("an allowed origin's preflight of an instance route is answered 204, its request carries allow-origin; others get none", async () => {
    const url = `${api.url}/v1/instances/${id}/api/v1/messages`;
    const pre = await fetch(url, { method: 'OPTIONS', headers: { origin: DASHBOARD, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const read = await fetch(url, { headers: { origin: DASHBOARD, authorization: `Bearer ${owner}` } });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    const other = await fetch(url, { headers: { origin: 'https://elsewhere.example', authorization: `Bearer ${owner}` } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('item 12: gateway WebSocket limits', () => {
  test('a client frame above 64 KiB closes the relay with 1009 at the gateway', async () => {
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/v1/instances/${id}/api/v1/events`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    await once(ws, 'open');
    ws.on('error', () => {});
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    ws.send(Buffer.alloc(100 * 1024, 1));
    const [code] = await closed;
    expect(code).toBe(1009);
  });
});
