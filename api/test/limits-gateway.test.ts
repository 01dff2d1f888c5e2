/**
 * Issue 12 items 4 and 12, with real api, instance and simnet processes (process provider):
 * - rate limits: a client address's and a tenant's gateway budgets are shared by two api replicas; beyond them 429
 *   `rate_limited` with Retry-After (there used to be none: every request reached the database and the provider);
 * - a tenant has at most GATEWAY_MAX_STREAMS_PER_USER open event streams; one more is closed with 4429;
 * - the api's /metrics is not on its public port, only on METRICS_PORT;
 * - `token=` / `access_token=` query parameters never reach a log line, however many a URL has;
 * - stopping the api closes open event streams with 1001 and the process exits.
 */
import WebSocket from 'ws';
import { clearOfWindowEnd, eventually, freePort, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let r1: RunningApi;
let r2: RunningApi;
let owner: string;
let id: string;
let metricsPort: number;
let apiStopped = false;
const phone = '15550007201';

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  metricsPort = await freePort();
  api = await startApiProcess({
    mongo,
    simnetUrl: simnet.url,
    env: { BILLING_CRON: 'false', GATEWAY_MAX_STREAMS_PER_USER: '2', METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info' },
  });
  const db = uniqueDbName('limits');
  const limited = { BILLING_CRON: 'false', GATEWAY_RATE_PER_ADDRESS: '6', GATEWAY_RATE_PER_TENANT: '4', GATEWAY_RATE_WINDOW_S: '3600' };
  r1 = await startApiProcess({ mongo, simnetUrl: simnet.url, db, env: { ...limited, TRUST_PROXY_HOPS: '1' } });
  r2 = await startApiProcess({ mongo, simnetUrl: simnet.url, db, env: { ...limited, TRUST_PROXY_HOPS: '1', RECONCILE_ON_START: 'false' } });
  owner = await tenant(api, 'limits-owner@example.com', 10_000);
  const created = await api.call('POST', '/v1/instances', { token: owner, body: { name: 'limits' } });
  expect(created.status).toBe(201);
  id = created.body.id;
  await eventually(async () => (await api.call('GET', `/v1/instances/${id}`, { token: owner })).body.phase === 'Running', 30_000);
  const login = await api.call('POST', `/v1/instances/${id}/api/v1/session/login`, { token: owner });
  expect(login.status).toBe(200);
  expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (apiStopped) api = await api.restart().catch(() => api);
  if (id) await api?.call('DELETE', `/v1/instances/${id}`, { token: owner }).catch(() => {});
  await Promise.allSettled([api?.stop(), r1?.stop(), r2?.stop()]);
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

const wsUrl = (base: string, query = '') => `${base.replace('http', 'ws')}/v1/instances/${id}/api/v1/events${query}`;

/** Opens an event stream; resolves with the socket once its first event arrived, or with the close code and reason. */
function openStream(token: string): Promise<{ ws: WebSocket } | { code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(api.url), { headers: { authorization: `Bearer ${token}` } });
    ws.once('message', () => resolve({ ws }));
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.once('error', reject);
  });
}

describe('item 4: gateway rate limits shared by replicas', () => {
  test("a client address's budget counts requests through both replicas; beyond it 429 rate_limited with Retry-After", async () => {
    await clearOfWindowEnd(3_600_000);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await (i % 2 ? r2 : r1).call('GET', '/v1/instances/i-aaaaaaaaaaaa/api/v1/messages', { token: 'wai_bogus' })).status);
    expect(statuses).toEqual([404, 404, 404, 404, 404, 404]);
    for (const r of [r1, r2]) {
      const refused = await r.call('GET', '/v1/instances/i-aaaaaaaaaaaa/api/v1/messages', { token: 'wai_bogus' });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another address is not affected.
    const other = await r1.call('GET', '/v1/instances/i-aaaaaaaaaaaa/api/v1/messages', {
      token: 'wai_bogus',
      headers: { 'x-forwarded-for': '192.0.2.77' },
    });
    expect(other.status).toBe(404);
  });

  test('an event stream upgrade counts against the forwarded client address (TRUST_PROXY_HOPS), as HTTP requests do', async () => {
    await clearOfWindowEnd(3_600_000);
    /** The status an upgrade through r1 is refused with (the instance is unknown there), from `forwarded` if given. */
    const refusedWith = (forwarded?: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${r1.url.replace('http', 'ws')}/v1/instances/i-cccccccccccc/api/v1/events`, {
          headers: { authorization: 'Bearer wai_bogus', ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) },
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('opened')));
        ws.once('error', () => undefined);
      });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push(await refusedWith('192.0.2.90'));
    // The forwarded address's budget (6) is used up by upgrades; the peer's own address (127.0.0.1) is not this one.
    expect(statuses).toEqual([404, 404, 404, 404, 404, 404, 429]);
    expect(await refusedWith('192.0.2.91')).toBe(404);
  });

  test("a tenant's budget counts its authenticated requests from any address through both replicas", async () => {
    await clearOfWindowEnd(3_600_000);
    const jwt = await tenant(r1, 'limits-tenant@example.com');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (
          await (i % 2 ? r2 : r1).call('GET', '/v1/instances/i-bbbbbbbbbbbb/api/v1/messages', {
            token: jwt,
            headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
          })
        ).status,
      );
    expect(statuses).toEqual([404, 404, 404, 404, 429]);
  });
});

describe('item 12: limits', () => {
  test('a tenant opens at most GATEWAY_MAX_STREAMS_PER_USER event streams; one more is closed with 4429', async () => {
    const first = await openStream(owner);
    const second = await openStream(owner);
    const third = await openStream(owner);
    expect('ws' in first && 'ws' in second).toBe(true);
    expect(third).toEqual({ code: 4429, reason: expect.stringMatching(/too many open event streams/) });
    if ('ws' in first) {
      const closed = new Promise((r) => first.ws.once('close', r));
      first.ws.close();
      await closed;
    }
    const again = await eventually(async () => {
      const s = await openStream(owner);
      return 'ws' in s ? s : undefined;
    }, 5_000);
    for (const s of [second, again]) if (s && 'ws' in s) s.ws.close();
  });

  test("the api's /metrics is served on METRICS_PORT only, not on the public port", async () => {
    expect((await api.call('GET', '/metrics')).status).toBe(404);
    expect((await api.call('GET', `/v1/instances/${id}/api/v1/messages`)).status).toBeGreaterThanOrEqual(400); // no token
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('# HELP http_request_duration_seconds');
    // The gateway's requests (answered outside the router; some above were refused) have their own route label.
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v1\/instances\/:id\/api\/\*"/);
  });

  test("a proxied request's time is split into the gateway's own and the instance's (wacloud_gateway_*_seconds)", async () => {
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{method="GET"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      return {
        own: value('wacloud_gateway_own_seconds_count'),
        ownSum: value('wacloud_gateway_own_seconds_sum'),
        up: value('wacloud_gateway_upstream_seconds_count'),
        upSum: value('wacloud_gateway_upstream_seconds_sum'),
      };
    };
    const before = await scrape();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++)
      expect((await api.call('GET', `/v1/instances/${id}/api/v1/messages?limit=1`, { token: owner })).status).toBe(200);
    // The instance's document as the gateway serves it: the instance's answer is its upstream time too.
    expect((await api.call('GET', `/v1/instances/${id}/api/openapi.json`, { token: owner })).status).toBe(200);
    const elapsedS = (performance.now() - t0) / 1000;
    // Refused by the gateway itself (no token): its own time only, the instance never asked.
    expect((await api.call('GET', `/v1/instances/${id}/api/v1/messages`)).status).toBe(401);
    const after = await eventually(async () => {
      const a = await scrape();
      return a.own - before.own === 5 ? a : undefined;
    }, 5_000);
    expect(after.up - before.up).toBe(4);
    const [own, up] = [after.ownSum - before.ownSum, after.upSum - before.upSum];
    expect(up).toBeGreaterThan(0);
    expect(own).toBeGreaterThan(0);
    expect(own + up).toBeLessThan(elapsedS + 1); // parts of the requests' time, not more
  });

  test('token and access_token query parameters are redacted from every log line', async () => {
    const secrets = ['SECRETAAA111', 'SECRETBBB222', 'SECRETCCC333'];
    const q = `?access_token=${secrets[0]}&token=${secrets[1]}&x=1&token=${secrets[2]}`;
    expect((await api.call('GET', `/v1/instances/${id}/api/v1/events${q}`)).status).toBe(401);
    expect((await api.call('GET', `/v1/nowhere${q}`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    const out = api.proc.output();
    expect(out).toContain('token=[redacted]');
    for (const s of secrets) expect(out).not.toContain(s);
  });

  test('stopping the api closes open event streams with 1001, and the process exits', async () => {
    const s = await openStream(owner);
    if (!('ws' in s)) throw new Error(`stream refused: ${JSON.stringify(s)}`);
    const closed = new Promise<[number, string]>((r) => s.ws.once('close', (code, reason) => r([code, reason.toString()])));
    apiStopped = true;
    const stopped = api.proc.stop(15_000);
    const [code] = await closed;
    expect(code).toBe(1001);
    expect(await stopped).toBe(0);
  }, 60_000);
});
