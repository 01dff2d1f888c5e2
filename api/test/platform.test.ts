/**
 * Issue #4 acceptance 2, 3 and 5 with the `process` provider: real api, instance and simnet processes, real MongoDB-wire
 * server. Nothing mocked; WhatsApp is the simulated network behind the engine interface.
 */
import { SignJWT } from 'jose';
import { countProcesses, eventually, freePort, startMongo, type MongoServer } from '@wacloud/testenv';
import { startSimnet, type RunningSimnet } from '../../instance/test/harness.js';
import { JWT_SECRET, startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
let simnet: RunningSimnet;
let api: RunningApi;
let alice: string;
let bob: string;
let metricsPort: number;
const ids: Record<string, string> = {};

beforeAll(async () => {
  mongo = await startMongo();
  simnet = await startSimnet();
  metricsPort = await freePort();
  api = await startApiProcess({ mongo, simnetUrl: simnet.url, env: { METRICS_PORT: String(metricsPort) } });
  alice = await tenant(api, 'alice@example.com', 10_000);
  bob = await tenant(api, 'bob@example.com', 5_000);
}, 60_000);

afterAll(async () => {
  for (const id of Object.values(ids)) await api?.call('DELETE', `/v1/instances/${id}`, { token: alice }).catch(() => {});
  await api?.stop();
  await Promise.allSettled([simnet?.stop(), mongo?.stop()]);
});

/**
 * The api's `wacloud_instance_memory_bytes` series by instance id (bytes), from its /metrics; undefined where this
 * machine gives instances no memory cgroups (the series then never appear: the process provider's `cgroups.ts`).
 */
async function instanceMemory(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const series = [...text.matchAll(/^wacloud_instance_memory_bytes\{instance_id="([^"]+)"\} (\d+)$/gm)];
  return new Map(series.map((m) => [m[1]!, Number(m[2])]));
}

const waitRunning = (id: string, token: string) =>
  eventually(async () => {
    const r = await api.call('GET', `/v1/instances/${id}`, { token });
    return r.body.phase === 'Running' ? r.body : undefined;
  }, 30_000);

describe('acceptance 2: two instances, QR scans, a token, a message through the gateway', () => {
  test('create two instances: the first period is charged, both run', async () => {
    const price = (await api.call('GET', '/v1/pricing')).body.monthlyPriceMinor as number;
    for (const name of ['sales', 'support']) {
      const r = await api.call('POST', '/v1/instances', { token: alice, body: { name } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ name, suspended: false, engine: 'simulated', provider: 'process' });
      expect(Date.parse(r.body.paidUntil)).toBeGreaterThan(Date.now() + 27 * 86_400_000);
      ids[name] = r.body.id;
    }
    for (const id of Object.values(ids)) expect(await waitRunning(id, alice)).toMatchObject({ phase: 'Running', sessionState: 'STOPPED' });
    // Operators see each instance's memory on the api's /metrics (what its memory limit counts).
    const memory = await instanceMemory();
    if (memory.size > 0) {
      expect([...memory.keys()].sort()).toEqual(Object.values(ids).sort());
      for (const bytes of memory.values()) expect(bytes).toBeGreaterThan(20 * 1024 ** 2); // a Node process at least
    }
    const me = await api.call('GET', '/v1/me', { token: alice });
    expect(me.body.balanceMinor).toBe(10_000 - 2 * price);
    const tx = await api.call('GET', '/v1/wallet/transactions', { token: alice });
    const charges = tx.body.items.filter((t: { type: string }) => t.type === 'charge');
    expect(charges).toHaveLength(2);
    expect(charges[0]).toMatchObject({ amountMinor: -price, period: { start: expect.any(String), end: expect.any(String) } });
    expect(tx.body.items.reduce((s: number, t: { amountMinor: number }) => s + t.amountMinor, 0)).toBe(me.body.balanceMinor);
  });

  test('scan both QRs through the gateway and the simulated hook; send with a w token, read with an r token', async () => {
    const phones = { sales: '15550004001', support: '15550004002' };
    for (const [name, phone] of Object.entries(phones)) {
      const login = await api.call('POST', `/v1/instances/${ids[name]}/api/v1/session/login`, { token: alice });
      expect(login.status).toBe(200);
      expect(login.body.qrImage).toMatch(/^data:image\/png;base64,/);
      expect((await simnet.hook('/hooks/scan', { qr: login.body.qr, phone })).status).toBe(200);
      await eventually(
        async () => (await api.call('GET', `/v1/instances/${ids[name]}`, { token: alice })).body.sessionState === 'WORKING',
        15_000,
      );
    }
    const w = await api.call('POST', `/v1/instances/${ids.sales}/tokens`, { token: alice, body: { name: 'crm', permissions: 'w' } });
    expect(w.status).toBe(201);
    expect(w.body.token).toMatch(/^wai_/);
    const r = await api.call('POST', `/v1/instances/${ids.support}/tokens`, { token: alice, body: { name: 'reader', permissions: 'r' } });
    const text = `through the gateway ${Date.now()}`;
    const sent = await api.call('POST', `/v1/instances/${ids.sales}/api/v1/messages`, {
      token: w.body.token,
      body: { to: phones.support, text },
    });
    expect(sent.status).toBe(202); // queued: the instance's send queue sends it
    expect(sent.body.sentBy.tokenName).toBe('crm');
    // The api's own idle hold (kit's holdIdleConnections, longer than an ingress's 60 s) on the gateway's answers and
    // express's alike; the instance's Keep-Alive header is hop-by-hop and not relayed.
    expect(sent.headers.get('keep-alive')).toBe('timeout=65');
    expect(w.headers.get('keep-alive')).toBe('timeout=65');
    const got = await eventually(async () => {
      const m = await api.call('GET', `/v1/instances/${ids.support}/api/v1/messages?q=${encodeURIComponent(text)}`, {
        token: r.body.token,
      });
      return m.body.items?.length === 1 ? m.body.items[0] : undefined;
    });
    expect(got).toMatchObject({ body: text, fromMe: false, author: `${phones.sales}@c.us` });
    // Scopes still hold through the gateway, and the token list hides the gateway's own token.
    expect((await api.call('GET', `/v1/instances/${ids.sales}/api/v1/messages`, { token: w.body.token })).status).toBe(403);
    const listed = await api.call('GET', `/v1/instances/${ids.sales}/tokens`, { token: alice });
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(['crm']);
    const patched = await api.call('PATCH', `/v1/instances/${ids.sales}/tokens/${w.body.id}`, {
      token: alice,
      body: { permissions: 'rw' },
    });
    expect(patched.body.permissions).toBe('rw');
    expect((await api.call('GET', `/v1/instances/${ids.sales}/api/v1/messages`, { token: w.body.token })).status).toBe(200);
    expect((await api.call('DELETE', `/v1/instances/${ids.sales}/tokens/${w.body.id}`, { token: alice })).status).toBe(204);
    expect((await api.call('GET', `/v1/instances/${ids.sales}/api/v1/token`, { token: w.body.token })).status).toBe(401);
  });

  test('a balance below the price gets 402 and creates nothing', async () => {
    const poor = await tenant(api, 'poor@example.com', 100);
    const r = await api.call('POST', '/v1/instances', { token: poor, body: { name: 'x' } });
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe('insufficient_funds');
    expect((await api.call('GET', '/v1/instances', { token: poor })).body.items).toEqual([]);
    expect((await api.call('GET', '/v1/me', { token: poor })).body.balanceMinor).toBe(100);
  });
});

describe('acceptance 3: isolation and auth', () => {
  test("tenant B cannot list, read, proxy to, create tokens for, or delete tenant A's instance", async () => {
    const id = ids.sales!;
    expect((await api.call('GET', '/v1/instances', { token: bob })).body.items).toEqual([]);
    for (const [m, p, body] of [
      ['GET', `/v1/instances/${id}`, undefined],
      ['GET', `/v1/instances/${id}/api/v1/stats`, undefined],
      ['POST', `/v1/instances/${id}/api/v1/session/logout`, undefined],
      ['POST', `/v1/instances/${id}/tokens`, { name: 'steal', permissions: 'rw' }],
      ['GET', `/v1/instances/${id}/tokens`, undefined],
      ['DELETE', `/v1/instances/${id}`, undefined],
    ] as const) {
      const r = await api.call(m, p, { token: bob, body });
      expect({ m, p, status: r.status, code: r.body?.error?.code }).toEqual({ m, p, status: 404, code: 'instance_not_found' });
    }
    expect((await api.call('GET', `/v1/instances/${id}`, { token: alice })).status).toBe(200);
  });

  test('tampered, expired, alg:none, foreign-key and logged-out tokens → 401', async () => {
    const [h, p, sig] = alice.split('.');
    const tampered = `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('A') ? 'B' : 'A'}A`;
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'u_someone_else' })).toString('base64url')}.${sig}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    const key = new TextEncoder().encode(JWT_SECRET);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('wacloud')
      .setSubject(payload.sub)
      .setJti(payload.jti)
      .setIssuedAt(1_700_000_000)
      .setExpirationTime(1_700_000_060)
      .sign(key);
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('wacloud')
      .setSubject(payload.sub)
      .setJti(payload.jti)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    for (const [label, t] of Object.entries({ tampered, forged, none, expired, otherKey, garbage: 'not.a.jwt' })) {
      const r = await api.call('GET', '/v1/me', { token: t });
      expect({ label, status: r.status, code: r.body.error.code }).toEqual({ label, status: 401, code: 'unauthorized' });
      expect((await api.call('GET', `/v1/instances/${ids.sales}/api/v1/stats`, { token: t })).status).toBe(401);
    }
    const session = await tenant(api, 'leaver@example.com');
    expect((await api.call('GET', '/v1/me', { token: session })).status).toBe(200);
    expect((await api.call('POST', '/v1/auth/logout', { token: session })).status).toBe(204);
    const after = await api.call('GET', '/v1/me', { token: session });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
  });

  test('20 wrong passwords → 429 (even the right password waits)', async () => {
    await tenant(api, 'target@example.com');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push(
        (await api.call('POST', '/v1/auth/login', { body: { email: 'target@example.com', password: `wrong-password-${i}` } })).status,
      );
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const right = await api.call('POST', '/v1/auth/login', { body: { email: 'target@example.com', password: 'correct horse battery' } });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(
      (await api.call('POST', '/v1/auth/login', { body: { email: 'alice@example.com', password: 'correct horse battery' } })).status,
    ).toBe(200);
  });
});

describe('acceptance 5: restart the api while instances run', () => {
  test('kill -9 the api and start it again: the same instances run, no duplicates, the gateway works', async () => {
    const count = (id: string) => countProcesses(new RegExp(`--instance-id=${id}\\b`));
    const before = Object.fromEntries(Object.values(ids).map((id) => [id, count(id)]));
    expect(Object.values(before)).toEqual([1, 1]);
    await api.kill9();
    api = await api.restart();
    await new Promise((r) => setTimeout(r, 3_000)); // let reconcile and supervision settle
    for (const id of Object.values(ids)) {
      expect(count(id)).toBe(1);
      const v = await waitRunning(id, alice);
      expect(v.sessionState).toBe('WORKING');
    }
    const stats = await api.call('GET', `/v1/instances/${ids.support}/api/v1/stats`, { token: alice });
    expect(stats.status).toBe(200);
    expect(stats.body.totals.messagesIn).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test('delete removes the instance process', async () => {
    const id = ids.support!;
    expect((await api.call('DELETE', `/v1/instances/${id}`, { token: alice })).status).toBe(204);
    delete ids.support;
    await eventually(() => countProcesses(new RegExp(`--instance-id=${id}\\b`)) === 0, 20_000);
    expect((await api.call('GET', `/v1/instances/${id}`, { token: alice })).status).toBe(404);
    // Its memory series went with it; the other instance's is still there (after the api's restart: adopted).
    const memory = await instanceMemory();
    expect(memory.has(id)).toBe(false);
    if (memory.size > 0) expect([...memory.keys()]).toEqual([ids.sales]);
  });
});
