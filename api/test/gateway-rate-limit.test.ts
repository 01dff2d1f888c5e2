/**
 * The gateway's shared rate limit (issue 12 item 4) against the real test database: two limiters stand for two api
 * replicas on one `throttle` collection. Together they admit at most the limit per window, however the requests are
 * spread and however many arrive at once; once a window is used up, refusals cost no database work.
 */
import { clearOfWindowEnd, startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
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
  // At most one unused lease per replica.
  expect(admitted).toBeGreaterThanOrEqual(limit - 2 * leaseSize(limit));
  expect((await burst(a, 'k1', 5, limit)) + (await burst(b, 'k1', 5, limit))).toBe(0);
});

/** The shared store, counting its database calls. */
class CountingThrottle extends Throttle {
  calls = 0;
  override claim(key: string, seq: number, expiresAt: Date): Promise<boolean> {
    this.calls++;
    return super.claim(key, seq, expiresAt);
  }
  override count(key: string): Promise<number> {
    this.calls++;
    return super.count(key);
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
