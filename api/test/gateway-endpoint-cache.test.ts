/**
 * Issue 12 item 4: requests through the gateway do not each cost the provider a lookup (an apiserver GET, a Docker
 * inspect, a health probe). The api runs in-process over a counting stand-in provider whose "instance" is a local HTTP
 * server refusing every token; made-up instance tokens used to cost one provider lookup each.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { loadConfig } from '../src/config.js';
import { cachingEndpoints } from '../src/gateway/endpoint-cache.js';
import { ProviderError, type InstanceEndpoints, type InstanceProvider, type ProviderStatus } from '../src/providers/index.js';
import { startApi, type Api } from '../src/service.js';
import { JWT_SECRET } from './harness.js';

/** A provider whose instances all live at `url`; counts endpoint lookups per id. */
class CountingProvider implements InstanceProvider {
  readonly kind = 'process' as const;
  readonly lookups = new Map<string, number>();
  failure?: ProviderError | undefined;
  constructor(private readonly url: string) {}
  async create(): Promise<void> {}
  async suspend(): Promise<void> {}
  async resume(): Promise<void> {}
  async restart(): Promise<void> {}
  async delete(): Promise<void> {}
  async status(): Promise<ProviderStatus> {
    return { phase: 'Running', sessionState: 'WORKING' };
  }
  async endpoints(id: string): Promise<InstanceEndpoints> {
    this.lookups.set(id, (this.lookups.get(id) ?? 0) + 1);
    if (this.failure) throw this.failure;
    return { publicUrl: this.url, internalUrl: this.url, internalKey: 'test-internal-key' };
  }
  async reconcile(): Promise<void> {}
  async close(): Promise<void> {}
}

let mongo: MongoServer;
let stub: http.Server;
let url: string;

beforeAll(async () => {
  mongo = await startMongo();
  stub = http.createServer((req, res) => {
    if (req.url === '/internal/v1/tokens/verify')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"valid":false}');
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});

afterAll(async () => {
  stub?.closeAllConnections();
  await new Promise((r) => stub?.close(r));
  await mongo?.stop();
});

test('made-up instance tokens cost the provider one endpoints lookup, not one per request', async () => {
  const provider = new CountingProvider(url);
  const config = loadConfig({
    MONGODB_URI: mongo.dbUri(uniqueDbName('epcache')),
    JWT_SECRET,
    SIMNET_URL: 'http://unused.invalid',
    PORT: '0',
    HOST: '127.0.0.1',
    BILLING_CRON: 'false',
    RECONCILE_ON_START: 'false',
  });
  const api: Api = await startApi(config, pino({ level: 'silent' }), provider);
  try {
    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await fetch(api.url + p, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    const creds = { email: 'epcache@example.com', password: 'correct horse battery' };
    expect((await call('POST', '/v1/auth/register', undefined, creds)).status).toBe(201);
    const jwt = (await call('POST', '/v1/auth/login', undefined, creds)).body.accessToken as string;
    expect((await call('POST', '/v1/wallet/deposits', jwt, { amount: 5000 })).status).toBe(201);
    const created = await call('POST', '/v1/instances', jwt, { name: 'cached' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++)
      statuses.add((await call('GET', `/v1/instances/${id}/api/v1/messages`, `wai_${randomBytes(16).toString('hex')}`)).status);
    expect([...statuses]).toEqual([401]);
    expect(provider.lookups.get(id)).toBe(1);
    // A deletion through the api drops the cached endpoints at once.
    expect((await call('DELETE', `/v1/instances/${id}`, jwt)).status).toBe(204);
    expect((await call('GET', `/v1/instances/${id}/api/v1/messages`, `wai_${randomBytes(16).toString('hex')}`)).status).toBe(404);
  } finally {
    await api.close();
  }
});

describe('cachingEndpoints', () => {
  test('caches refusals (not_found, not_ready) briefly, never an unavailable backend', async () => {
    const inner = new CountingProvider(url);
    const p = cachingEndpoints(inner, { negativeTtlMs: 60_000 });
    inner.failure = new ProviderError('not_ready', 'starting');
    for (let i = 0; i < 5; i++) await expect(p.endpoints('i-aaaaaaaaaaaa')).rejects.toThrow('starting');
    expect(inner.lookups.get('i-aaaaaaaaaaaa')).toBe(1);
    inner.failure = new ProviderError('unavailable', 'engine down');
    for (let i = 0; i < 3; i++) await expect(p.endpoints('i-bbbbbbbbbbbb')).rejects.toThrow('engine down');
    expect(inner.lookups.get('i-bbbbbbbbbbbb')).toBe(3);
  });

  test('a fresh lookup (a caller waiting for a starting instance) skips a remembered refusal, not a found instance', async () => {
    const inner = new CountingProvider(url);
    const p = cachingEndpoints(inner, { negativeTtlMs: 60_000 });
    inner.failure = new ProviderError('not_ready', 'starting');
    await expect(p.endpoints('i-aaaaaaaaaaaa')).rejects.toThrow('starting');
    inner.failure = undefined;
    await expect(p.endpoints('i-aaaaaaaaaaaa')).rejects.toThrow('starting');
    await expect(p.endpoints('i-aaaaaaaaaaaa', { fresh: true })).resolves.toMatchObject({ publicUrl: url });
    await p.endpoints('i-aaaaaaaaaaaa', { fresh: true });
    expect(inner.lookups.get('i-aaaaaaaaaaaa')).toBe(2);
  });

  test('create, suspend, resume and delete through it drop the entry; the cache is bounded', async () => {
    const inner = new CountingProvider(url);
    const p = cachingEndpoints(inner, { maxEntries: 2 });
    await p.endpoints('i-aaaaaaaaaaaa');
    await p.endpoints('i-aaaaaaaaaaaa');
    expect(inner.lookups.get('i-aaaaaaaaaaaa')).toBe(1);
    await p.suspend('i-aaaaaaaaaaaa');
    await p.endpoints('i-aaaaaaaaaaaa');
    await p.resume('i-aaaaaaaaaaaa');
    await p.endpoints('i-aaaaaaaaaaaa');
    await p.create({ id: 'i-aaaaaaaaaaaa', owner: 'u', name: 'n', engine: 'simulated', suspended: false });
    await p.endpoints('i-aaaaaaaaaaaa');
    expect(inner.lookups.get('i-aaaaaaaaaaaa')).toBe(4);
    await p.endpoints('i-bbbbbbbbbbbb');
    await p.endpoints('i-cccccccccccc');
    await p.endpoints('i-aaaaaaaaaaaa');
    expect(inner.lookups.get('i-aaaaaaaaaaaa')).toBe(5);
    expect(p.kind).toBe('process');
  });

  test("a tenant's stop, start and restart (suspend, resume, restart) drop the entry: the next request asks again", async () => {
    const inner = new CountingProvider(url);
    const p = cachingEndpoints(inner);
    await p.endpoints('i-dddddddddddd');
    await p.restart('i-dddddddddddd');
    await p.endpoints('i-dddddddddddd');
    expect(inner.lookups.get('i-dddddddddddd')).toBe(2);
    await p.endpoints('i-dddddddddddd');
    expect(inner.lookups.get('i-dddddddddddd')).toBe(2);
  });
});
