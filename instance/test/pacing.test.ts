/** The send queue's pacing rules, on given times (no waiting): token bucket, per-chat gap, jitter. */
import { Pacer } from '../src/services/outgoing/pacing.js';

test('token bucket: a burst goes at once, then one message per 1/rate; a quiet spell refills up to the burst', () => {
  const p = new Pacer({ ratePerS: 2, burst: 3, jitterMs: 0, chatGapMs: 0 });
  for (let i = 0; i < 3; i++) {
    expect(p.bucketWaitMs(0)).toBe(0);
    p.take(`c${i}@c.us`, 0);
  }
  expect(p.bucketWaitMs(0)).toBe(500);
  expect(p.bucketWaitMs(250)).toBe(250);
  expect(p.bucketWaitMs(500)).toBe(0);
  p.take('c@c.us', 500);
  expect(p.bucketWaitMs(500)).toBe(500);
  // 10 s of quiet refill the bucket to 3, not 20.
  for (let i = 0; i < 3; i++) {
    expect(p.bucketWaitMs(10_500)).toBe(0);
    p.take('c@c.us', 10_500);
  }
  expect(p.bucketWaitMs(10_500)).toBe(500);
});

test('per-chat gap: a chat waits its gap after a send, other chats do not', () => {
  const p = new Pacer({ ratePerS: 0, burst: 1, jitterMs: 0, chatGapMs: 2_000 });
  p.take('a@c.us', 1_000);
  expect(p.chatWaitMs('a@c.us', 1_500)).toBe(1_500);
  expect(p.chatWaitMs('b@c.us', 1_500)).toBe(0);
  expect(p.chatWaitMs('a@c.us', 3_000)).toBe(0);
  expect(p.bucketWaitMs(1_000)).toBe(0); // rate 0: no bucket
});

test('jitter: from 0 to below jitterMs, only while the bucket is on', () => {
  expect(new Pacer({ ratePerS: 1, burst: 1, jitterMs: 400, chatGapMs: 0, random: () => 0.999 }).jitterMs()).toBe(399);
  expect(new Pacer({ ratePerS: 1, burst: 1, jitterMs: 400, chatGapMs: 0, random: () => 0 }).jitterMs()).toBe(0);
  expect(new Pacer({ ratePerS: 0, burst: 1, jitterMs: 400, chatGapMs: 0, random: () => 0.5 }).jitterMs()).toBe(0);
});
