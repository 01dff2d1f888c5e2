/**
 * Issue #12 item 5, login throttling: two real api processes sharing one database on the MongoDB-wire test server,
 * client addresses through X-Forwarded-For (TRUST_PROXY_HOPS=1). Every attempt takes a point before the password is
 * checked, so parallel guesses beyond the free ones are refused (429) without reaching argon2; the counters live in
 * the database; the delay grows per (account, address) and leaves the owner at another address alone; registration
 * is limited per address.
 */
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { startApiProcess, tenant, type RunningApi } from './harness.js';

let mongo: MongoServer;
/** Two replicas whose first delay (30 s) outlasts any test step, however slow argon2 runs on a loaded machine. */
let a: RunningApi;
let b: RunningApi;
/** Two replicas with the default 1 s first delay, for the tests that wait the delays out. */
let fastA: RunningApi;
let fastB: RunningApi;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  mongo = await startMongo();
  const db = uniqueDbName('throttle');
  const fastDb = uniqueDbName('throttle-fast');
  const env = { TRUST_PROXY_HOPS: '1', SIMNET_URL: 'http://127.0.0.1:9', REGISTER_MAX_PER_ADDRESS: '3', RECONCILE_ON_START: 'false' };
  const slowEnv = { ...env, LOGIN_BASE_DELAY_S: '30' };
  [a, b, fastA, fastB] = await Promise.all([
    startApiProcess({ mongo, db, env: slowEnv }),
    startApiProcess({ mongo, db, env: slowEnv }),
    startApiProcess({ mongo, db: fastDb, env }),
    startApiProcess({ mongo, db: fastDb, env }),
  ]);
  for (const email of ['owner@example.com', 'shared@example.com']) await tenant(a, email);
  await tenant(fastA, 'slow@example.com');
  const spread = await fastA.call('POST', '/v1/auth/register', {
    body: { email: 'spread@example.com', password: PASSWORD },
    headers: { 'x-forwarded-for': '192.0.2.200' },
  });
  expect(spread.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), fastA?.stop(), fastB?.stop()]);
  await mongo?.stop();
});

const login = (api: RunningApi, email: string, password: string, from: string) =>
  api.call('POST', '/v1/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': from } });

test('20 parallel wrong passwords from one address: at most 5 are verified, the rest get 429 before verification', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => login(i % 2 ? a : b, 'owner@example.com', `wrong-password-${i}`, '203.0.113.1')),
  );
  const statuses = results.map((r) => r.status);
  // Only a verified password can answer 401: the 429s were refused before argon2 ran.
  expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
  expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(1);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
  expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  for (const r of results.filter((x) => x.status === 429)) {
    expect(r.body.error.code).toBe('too_many_attempts');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }
  // The attacker's address waits even with the right password.
  expect((await login(a, 'owner@example.com', PASSWORD, '203.0.113.1')).status).toBe(429);
});

test('the owner at another address still logs in while the attacker is throttled', async () => {
  const owner = await login(b, 'owner@example.com', PASSWORD, '198.51.100.7');
  expect(owner.status).toBe(200);
  expect(owner.body.accessToken).toEqual(expect.any(String));
  expect((await login(a, 'owner@example.com', 'another-guess-1', '203.0.113.1')).status).toBe(429);
});

test("accepting an invitation with an existing account's password is throttled alike: 429 with Retry-After", async () => {
  const owner = await login(a, 'owner@example.com', PASSWORD, '198.51.100.61');
  expect(owner.status).toBe(200);
  const inv = await a.call('POST', '/v1/invitations', {
    token: owner.body.accessToken,
    body: { email: 'shared@example.com', role: 'agent' },
  });
  expect(inv.status).toBe(201);
  const accept = (password: string) =>
    b.call('POST', '/v1/invitations/accept', {
      body: { token: inv.body.token, password },
      headers: { 'x-forwarded-for': '203.0.113.77' },
    });
  const statuses: number[] = [];
  let refused: Awaited<ReturnType<typeof accept>> | undefined;
  for (let i = 0; i < 8 && !refused; i++) {
    const r = await accept(`wrong-password-${i}`);
    statuses.push(r.status);
    if (r.status === 429) refused = r;
  }
  expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
  expect(refused?.body.error.code).toBe('too_many_attempts');
  // The 30 s first delay of these replicas (LOGIN_BASE_DELAY_S), in whole seconds.
  expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(refused?.headers.get('retry-after'))).toBeLessThanOrEqual(30);
});

test('two api processes on one database share the counters', async () => {
  for (let i = 0; i < 5; i++) expect((await login(a, 'shared@example.com', `wrong-password-${i}`, '203.0.113.2')).status).toBe(401);
  const onB = await login(b, 'shared@example.com', 'wrong-password-5', '203.0.113.2');
  expect(onB.status).toBe(429);
  expect(onB.body.error.code).toBe('too_many_attempts');
});

test('the delay grows per (account, address): Retry-After doubles with each further attempt', async () => {
  for (let i = 0; i < 5; i++) expect((await login(fastA, 'slow@example.com', `wrong-password-${i}`, '203.0.113.3')).status).toBe(401);
  const waits: number[] = [];
  for (let round = 0; round < 3; round++) {
    const refused = await login(fastB, 'slow@example.com', `wrong-password-r${round}`, '203.0.113.3');
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    waits.push(wait);
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await login(fastA, 'slow@example.com', `wrong-password-after-${round}`, '203.0.113.3')).status).toBe(401);
  }
  expect(waits).toEqual([1, 2, 4]);
  // A success at that address clears its counter.
  await new Promise((r) => setTimeout(r, 8_100));
  expect((await login(fastA, 'slow@example.com', PASSWORD, '203.0.113.3')).status).toBe(200);
  expect((await login(fastB, 'slow@example.com', 'wrong-password-again', '203.0.113.3')).status).toBe(401);
}, 40_000);

test('registration is limited per address: 429 with Retry-After after the limit, other addresses unaffected', async () => {
  const register = (api: RunningApi, email: string, from: string) =>
    api.call('POST', '/v1/auth/register', { body: { email, password: PASSWORD }, headers: { 'x-forwarded-for': from } });
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await register(i % 2 ? a : b, `new${i}@example.com`, '203.0.113.9')).status);
  expect(statuses).toEqual([201, 201, 201, 429, 429]);
  const refused = await register(a, 'new9@example.com', '203.0.113.9');
  expect(refused.body.error.code).toBe('too_many_attempts');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
  expect((await register(b, 'other@example.com', '198.51.100.9')).status).toBe(201);
});

test('the looser per-account bound over many addresses delays (never locks) the account: 429, then one attempt after Retry-After', async () => {
  // 50 attempts from 25 addresses (2 each: under the per-pair allowance) exhaust the per-account allowance.
  for (let i = 0; i < 25; i++)
    for (let j = 0; j < 2; j++)
      expect((await login(i % 2 ? fastA : fastB, 'spread@example.com', `wrong-password-${i}-${j}`, `192.0.2.${i + 1}`)).status).toBe(401);
  const refused = await login(fastA, 'spread@example.com', PASSWORD, '198.51.100.50');
  expect(refused.status).toBe(429);
  const wait = Number(refused.headers.get('retry-after'));
  expect(wait).toBe(1);
  await new Promise((r) => setTimeout(r, wait * 1000 + 100));
  expect((await login(fastB, 'spread@example.com', PASSWORD, '198.51.100.50')).status).toBe(200);
}, 30_000);
