/**
 * The gateway's shared rate limit (issue 12 item 4) against the real test database: two limiters stand for two api
 * replicas on one `throttle` collection. Together they admit at most the limit per window, however the requests are
 * spread and however many arrive at once; once a window is used up, refusals cost no database work.
 */
import { clearOfWindowEnd, eventually, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { Throttle } from '../src/login-throttle.js';
import { RateLimiter, leaseSize } from '../src/gateway/rate-limit.js';
import { openApiStore, type ApiStore } from '../src/store.js';

let mongo: MongoServer;
let store: ApiStore;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openApiStore(mongo.dbUri(uniqueDbName('ratelimit')));
});

afterAll(async () => {
  await store?.close();
  await mongo?.stop();
});

/** Runs `n` consumes of `key` on `limiter` at once; resolves with how many were admitted. */
async function burst(limiter: RateLimiter, key: string, n: number, limit: number): Promise<number> {
  const r = await Promise.allSettled(Array.from({ length: n }, () => limiter.consume(key, { limit, windowMs: 3_600_000 })));
  for (const x of r) if (x.status === 'rejected') expect((x.reason as { code?: string }).code).toBe('rate_limited');
  return r.filter((x) => x.status === 'fulfilled').length;
}

test('two replicas together admit at most the limit, and nearly all of it', async () => {
  await clearOfWindowEnd(3_600_000);
  const limit = 100;
  const a = new RateLimiter(new Throttle(store));
  const b = new RateLimiter(new Throttle(store));
  const admitted = (await Promise.all([burst(a, 'k1', 80, limit), burst(b, 'k1', 80, limit)])).reduce((x, y) => x + y, 0);
  expect(admitted).toBeLessThanOrEqual(limit);
  // A replica leaves at most one and a half leases unused (the rest of its last slot and one leased ahead); here only
  // the replica whose demand ends first can leave any (the other asks until the window is used up).
  expect(admitted).toBeGreaterThanOrEqual(limit - 2 * leaseSize(limit));
  // What is left is what a replica leased and had no request for (leased ahead): used by its next requests, never more.
  const more = (await burst(a, 'k1', 20, limit)) + (await burst(b, 'k1', 20, limit));
  expect(admitted + more).toBeLessThanOrEqual(limit);
  expect((await burst(a, 'k1', 5, limit)) + (await burst(b, 'k1', 5, limit))).toBe(0);
});

test('a small limit (one request a lease) is exact across replicas: nothing is leased ahead', async () => {
  await clearOfWindowEnd(3_600_000);
  const rule = { limit: 2, windowMs: 3_600_000 };
  const a = new RateLimiter(new Throttle(store));
  const b = new RateLimiter(new Throttle(store));
  const admitted: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    admitted.push(
      await (i % 2 ? b : a).consume('k0', rule).then(
        () => true,
        () => false,
      ),
    );
    // A claim started in the background, if any, lands before the other replica's request.
    await new Promise((r) => setTimeout(r, 100));
  }
  // A's slot leased ahead would be the window's last: b would be refused, and a admitted again.
  expect(admitted).toEqual([true, true, false, false]);
});

/**
 * The shared store, counting its database calls (`calls`) and its claims (`claims`) as they are asked; while `held`,
 * claims wait for {@link release} before they reach the database.
 */
class CountingThrottle extends Throttle {
  calls = 0;
  claims = 0;
  held = false;
  private waiting: (() => void)[] = [];
  override async claim(key: string, seq: number, expiresAt: Date): Promise<boolean> {
    this.calls++;
    this.claims++;
    if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    return super.claim(key, seq, expiresAt);
  }
  override count(key: string): Promise<number> {
    this.calls++;
    return super.count(key);
  }
  release(): void {
    this.held = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

test('a used-up window refuses from memory, with the wait until the window ends', async () => {
  await clearOfWindowEnd(3_600_000);
  const throttle = new CountingThrottle(store);
  const limiter = new RateLimiter(throttle);
  expect(await burst(limiter, 'k2', 3, 3)).toBe(3);
  const err = await limiter.consume('k2', { limit: 3, windowMs: 3_600_000 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'rate_limited', status: 429, details: { retryAfterS: expect.any(Number) } });
  const calls = throttle.calls;
  expect(await burst(limiter, 'k2', 50, 3)).toBe(0);
  expect(throttle.calls).toBe(calls);
});

test("a busy key's requests do not wait for its next lease: it is taken once half a lease is left", async () => {
  await clearOfWindowEnd(3_600_000);
  const rule = { limit: 100, windowMs: 3_600_000 };
  const throttle = new CountingThrottle(store);
  const limiter = new RateLimiter(throttle);
  await limiter.consume('k3', rule); // the first slot: 5 requests, 4 left
  expect(throttle.claims).toBe(1);
  throttle.held = true; // every claim from here on waits until released
  await limiter.consume('k3', rule);
  expect(throttle.claims).toBe(1);
  await limiter.consume('k3', rule); // 2 left: half a lease (2.5) — the next slot is claimed in the background
  expect(throttle.claims).toBe(2);
  // The slot's last two requests are admitted while that claim waits; the one after them waits for it.
  await limiter.consume('k3', rule);
  await limiter.consume('k3', rule);
  let sixth = false;
  const after = limiter.consume('k3', rule).then(() => (sixth = true));
  await new Promise((r) => setTimeout(r, 50));
  expect(sixth).toBe(false);
  throttle.release();
  await after;
  expect(throttle.claims).toBe(2);
  expect(await new Throttle(store).count(`rate:k3@${Math.floor(Date.now() / rule.windowMs)}`)).toBe(2);
});

test("a request near its window's end leases the next window's first slot: the first request there does not wait", async () => {
  const rule = { limit: 100, windowMs: 6_000 }; // leased ahead in the last 600 ms
  // Into the last 500 ms of a window.
  const left = rule.windowMs - (Date.now() % rule.windowMs);
  await new Promise((r) => setTimeout(r, left > 550 ? left - 500 : left + rule.windowMs - 500));
  const throttle = new CountingThrottle(store);
  const limiter = new RateLimiter(throttle);
  const w = Math.floor(Date.now() / rule.windowMs);
  await limiter.consume('k4', rule);
  // This window's first slot and, in the background, the next window's.
  await eventually(async () => (await new Throttle(store).count(`rate:k4@${w + 1}`)) === 1);
  expect(throttle.claims).toBe(2);
  await new Promise((r) => setTimeout(r, rule.windowMs - (Date.now() % rule.windowMs) + 20));
  throttle.held = true; // a claim now would wait until released: the next window's first request must not make one
  await limiter.consume('k4', rule);
  expect(Math.floor(Date.now() / rule.windowMs)).toBe(w + 1);
  expect(throttle.claims).toBe(2);
  throttle.release();
});
