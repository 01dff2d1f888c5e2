/** The shared reconnect policy: exponential backoff with jitter, capped, and a budget of attempts and of time. */
import { backoffDelayMs, Reconnector, type ReconnectPolicy } from '../src/engines/reconnect.js';

const policy: ReconnectPolicy = { initialDelayMs: 1_000, maxDelayMs: 300_000, maxAttempts: 20, maxElapsedMs: 3_600_000 };

test('delays double from 1 s to the 5 min cap, with the upper half random', () => {
  const low = (n: number) => backoffDelayMs(policy, n, () => 0);
  const high = (n: number) => backoffDelayMs(policy, n, () => 0.999_999);
  expect([1, 2, 3, 4, 9, 10, 20].map(low)).toEqual([500, 1_000, 2_000, 4_000, 128_000, 150_000, 150_000]);
  expect([1, 2, 10, 20].map(high)).toEqual([1_000, 2_000, 300_000, 300_000]);
  expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(3_000);
});

test('the budget: retries in a row, then exhausted until reset; a success ends the streak', () => {
  let now = 0;
  const r = new Reconnector(
    { ...policy, maxAttempts: 2 },
    () => 0,
    () => now,
  );
  const noop = () => undefined;
  expect(r.status()).toBeUndefined();
  expect(r.failed('a', noop)).toEqual({ attempt: 1, delayMs: 500 });
  expect(r.status()).toEqual({ attempt: 1, maxAttempts: 2, retryAt: 500, exhausted: false, lastReason: 'a' });
  expect(r.pending()).toBe(true);
  now = 500;
  expect(r.failed('b', noop)).toEqual({ attempt: 2, delayMs: 1_000 });
  expect(r.failed('c', noop)).toBeUndefined();
  expect(r.pending()).toBe(false);
  expect(r.status()).toEqual({ attempt: 2, maxAttempts: 2, exhausted: true, lastReason: 'c' });
  r.reset();
  expect(r.status()).toBeUndefined();
  expect(r.failed('d', noop)).toEqual({ attempt: 1, delayMs: 500 });
  r.succeeded();
  expect(r.status()).toBeUndefined();
  expect(r.pending()).toBe(false);
});

test('the budget in time: a retry that would start past maxElapsedMs after the first failure is not made', () => {
  let now = 0;
  const r = new Reconnector(
    { ...policy, maxElapsedMs: 10_000 },
    () => 0,
    () => now,
  );
  expect(r.failed('x', () => undefined)?.attempt).toBe(1); // retry at 500
  now = 9_500;
  expect(r.failed('x', () => undefined)).toBeUndefined(); // attempt 2 would start at 10 500 > 10 000
  expect(r.status()?.exhausted).toBe(true);
});

test('a scheduled retry runs once; cancel drops it', async () => {
  const r = new Reconnector({ ...policy, initialDelayMs: 10, maxDelayMs: 10 }, () => 0.999_999);
  let runs = 0;
  await new Promise<void>((resolve) => r.failed('x', () => resolve(void runs++)));
  expect(runs).toBe(1);
  r.failed('y', () => runs++);
  r.cancel();
  // A timer of the same delay set afterwards fires after the cancelled one would have.
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(runs).toBe(1);
  expect(r.status()?.attempt).toBe(2);
});
