/**
 * Issue 12 item 4: requests through the gateway do not each cost the provider a lookup (an apiserver GET, a Docker
 * inspect, a health probe). The api runs in-process over a counting stand-in provider whose "instance" is a local HTTP
 * server refusing every token; made-up instance tokens used to cost one provider lookup each.
 */
import http from 'node:http';
import { jest } from '@jest/globals';
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
  /** While set, lookups wait for it (a slow `/health` answer). */
  gate?: Promise<void> | undefined;
  /** The public URL lookups answer. */
  answer: string;
  constructor(url: string) {
    this.answer = url;
  }
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
    const failure = this.failure;
    const answer = this.answer;
    await this.gate;
    if (failure) throw failure;
    return { publicUrl: answer, internalUrl: answer, internalKey: 'test-internal-key' };
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

type Call = (method: string, p: string, token?: string, body?: unknown) => Promise<{ status: number; body: any }>;

/** The api in this process over `provider` (its own database), with a JSON caller; `env` adds to the config. */
async function inProcessApi(provider: InstanceProvider, db: string, env: Record<string, string> = {}): Promise<{ api: Api; call: Call }> {
  const config = loadConfig({
    MONGODB_URI: mongo.dbUri(uniqueDbName(db)),
    JWT_SECRET,
    SIMNET_URL: 'http://unused.invalid',
    PORT: '0',
    HOST: '127.0.0.1',
    BILLING_CRON: 'false',
    RECONCILE_ON_START: 'false',
    ...env,
  });
  const api = await startApi(config, pino({ level: 'silent' }), provider);
  const call: Call = async (method, p, token, body) => {
    const res = await fetch(api.url + p, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  return { api, call };
}

/** Registers `email`, funds the wallet and creates an instance `name`: the owner's access token and the instance id. */
async function ownerWithInstance(call: Call, email: string, name: string): Promise<{ jwt: string; id: string }> {
  const creds = { email, password: 'correct horse battery' };
  expect((await call('POST', '/v1/auth/register', undefined, creds)).status).toBe(201);
  const jwt = (await call('POST', '/v1/auth/login', undefined, creds)).body.accessToken as string;
  expect((await call('POST', '/v1/wallet/deposits', jwt, { amount: 5000 })).status).toBe(201);
  const created = await call('POST', '/v1/instances', jwt, { name });
  expect(created.status).toBe(201);
  return { jwt, id: created.body.id as string };
}

test('made-up instance tokens cost the provider one endpoints lookup, not one per request', async () => {
  const provider = new CountingProvider(url);
  const { api, call } = await inProcessApi(provider, 'epcache');
  try {
    const { jwt, id } = await ownerWithInstance(call, 'epcache@example.com', 'cached');
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

test("instance-token requests arriving together when the instance's record expires share one read of it", async () => {
  const { api, call } = await inProcessApi(new CountingProvider(url), 'epstate', { INSTANCE_STATE_TTL_MS: '1000' });
  try {
    const { id } = await ownerWithInstance(call, 'epstate@example.com', 'shared-read');
    const made = () => `wai_${randomBytes(16).toString('hex')}`;
    expect((await call('GET', `/v1/instances/${id}/api/v1/messages`, made())).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1_100));
    // Count the reads of the record (the store's own collection object, calling through to the database).
    const findOne = jest.spyOn(api.store.instances, 'findOne');
    const reads = () => findOne.mock.calls.filter(([f]) => (f as { _id?: unknown })._id === id).length;
    const statuses = await Promise.all(Array.from({ length: 16 }, () => call('GET', `/v1/instances/${id}/api/v1/messages`, made())));
    expect(statuses.map((r) => r.status)).toEqual(Array(16).fill(401));
    expect(reads()).toBe(1);
    findOne.mockRestore();
  } finally {
    await api.close();
  }
});

test("past half its time the instance's record is read again in the background; requests never use it past its time", async () => {
  const { api, call } = await inProcessApi(new CountingProvider(url), 'epahead', { INSTANCE_STATE_TTL_MS: '2000' });
  try {
    const { id } = await ownerWithInstance(call, 'epahead@example.com', 'read-ahead');
    const made = () => `wai_${randomBytes(16).toString('hex')}`;
    const get = () => call('GET', `/v1/instances/${id}/api/v1/messages`, made());
    expect((await get()).status).toBe(401); // the record read, kept 2 s from the read's start
    const readAt = Date.now();
    // From here the record's reads wait until released (the store's own collection object, calling through).
    const instances = api.store.instances;
    const original = instances.findOne.bind(instances) as (...a: unknown[]) => Promise<unknown>;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reads = 0;
    const findOne = jest.spyOn(instances, 'findOne').mockImplementation((async (...a: unknown[]) => {
      if ((a[0] as { _id?: unknown })._id === id) {
        reads++;
        await held;
      }
      return original(...a);
    }) as never);
    try {
      await new Promise((r) => setTimeout(r, 1_100 - (Date.now() - readAt)));
      // Past half its time: answered from the record while one read (held) refreshes it.
      const statuses = await Promise.all(Array.from({ length: 8 }, get));
      expect(statuses.map((r) => r.status)).toEqual(Array(8).fill(401));
      expect(reads).toBe(1);
      // Past its time the record is not used: a request waits for the read under way (and shares it).
      await new Promise((r) => setTimeout(r, 2_100 - (Date.now() - readAt)));
      let answered = false;
      const late = get().then((r) => ((answered = true), r.status));
      await new Promise((r) => setTimeout(r, 300));
      expect(answered).toBe(false);
      release();
      expect(await late).toBe(401);
      expect(reads).toBe(1);
    } finally {
      release();
      findOne.mockRestore();
    }
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

  test('an expired entry is answered at once while one lookup refreshes it; a change meanwhile is not undone', async () => {
    const inner = new CountingProvider('http://old');
    const p = cachingEndpoints(inner, { ttlMs: 300 });
    const id = 'i-eeeeeeeeeeee';
    await p.endpoints(id);
    await new Promise((r) => setTimeout(r, 350));
    let open!: () => void;
    inner.gate = new Promise<void>((r) => (open = r));
    inner.answer = 'http://new';
    // Expired, the lookup held: every request is still answered (from the expired entry), one lookup runs.
    for (let i = 0; i < 5; i++) await expect(p.endpoints(id)).resolves.toMatchObject({ publicUrl: 'http://old' });
    expect(inner.lookups.get(id)).toBe(2);
    open();
    await new Promise((r) => setTimeout(r, 5));
    inner.gate = undefined;
    await expect(p.endpoints(id)).resolves.toMatchObject({ publicUrl: 'http://new' });
    expect(inner.lookups.get(id)).toBe(2);
    // Past twice the time to live nothing stale is served: the request waits for its own lookup.
    await new Promise((r) => setTimeout(r, 700));
    inner.answer = 'http://newer';
    await expect(p.endpoints(id)).resolves.toMatchObject({ publicUrl: 'http://newer' });
    // A change through the wrapper while a refresh is under way: the refresh's (older) answer is not put back.
    await new Promise((r) => setTimeout(r, 350));
    inner.gate = new Promise<void>((r) => (open = r));
    inner.answer = 'http://before-restart';
    await p.endpoints(id);
    await p.restart(id);
    open();
    await new Promise((r) => setTimeout(r, 5));
    inner.gate = undefined;
    inner.answer = 'http://after-restart';
    await expect(p.endpoints(id)).resolves.toMatchObject({ publicUrl: 'http://after-restart' });
  });

  test('a refresh that finds the instance gone is remembered; a failing backend drops the entry', async () => {
    const inner = new CountingProvider(url);
    const p = cachingEndpoints(inner, { ttlMs: 300, negativeTtlMs: 60_000 });
    await p.endpoints('i-ffffffffffff');
    await p.endpoints('i-gggggggggggg');
    await new Promise((r) => setTimeout(r, 350));
    inner.failure = new ProviderError('not_found', 'gone');
    await p.endpoints('i-ffffffffffff'); // answered from the expired entry; its refresh finds it gone
    await new Promise((r) => setTimeout(r, 5));
    await expect(p.endpoints('i-ffffffffffff')).rejects.toThrow('gone');
    expect(inner.lookups.get('i-ffffffffffff')).toBe(2);
    inner.failure = new ProviderError('unavailable', 'backend down');
    await p.endpoints('i-gggggggggggg');
    await new Promise((r) => setTimeout(r, 5));
    await expect(p.endpoints('i-gggggggggggg')).rejects.toThrow('backend down');
    expect(inner.lookups.get('i-gggggggggggg')).toBe(3);
  });
});
