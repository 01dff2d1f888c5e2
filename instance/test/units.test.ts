/** Pure functions: configuration, webhook retry policy and signatures, token grants, id helpers. */
import { createHmac } from 'node:crypto';
import { ConfigError, loadInstanceConfig } from '../src/config.js';
import { toChatId } from '../src/engines/engine.js';
import { grants } from '../src/services/tokens.js';
import { backoffMs, classify } from '../src/webhooks/attempt-outcome.js';
import { eventId } from '../src/webhooks/settings.js';
import { sign, verify } from '../src/webhooks/signature.js';
import { escapeRegex } from '../src/storage/queries.js';

const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/x', INTERNAL_API_KEY: 'k'.repeat(16) };

describe('config', () => {
  test('defaults are filled and the result is frozen', () => {
    const c = loadInstanceConfig(base);
    expect(c).toMatchObject({
      port: 8080,
      internalPort: 8081,
      engine: 'webjs',
      webhookMaxAttempts: 10,
      webhookRetryBaseMs: 5_000,
      webhookRetryMaxMs: 300_000,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.webhookEvents)).toBe(true);
    expect(c.webhookEvents).toEqual(['message', 'message.ack', 'session.status']);
  });
  test('every problem is listed at once', () => {
    let err: unknown;
    try {
      loadInstanceConfig({ PORT: 'eighty', ENGINE: 'selenium', MONGODB_URI: 'postgres://x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const v of ['PORT', 'ENGINE', 'MONGODB_URI', 'INTERNAL_API_KEY']) expect(msg).toContain(v);
  });
  test('the simulated engine needs SIMNET_URL; the key may come from a file', () => {
    expect(() => loadInstanceConfig({ ...base, ENGINE: 'simulated' })).toThrow(/SIMNET_URL/);
    expect(() => loadInstanceConfig({ MONGODB_URI: base.MONGODB_URI, INTERNAL_API_KEY_FILE: '/nonexistent/key' })).toThrow(/cannot read/);
  });
  test('durations (ms), sizes (bytes) and counts are positive integers', () => {
    const c = loadInstanceConfig({
      ...base,
      WEBHOOK_TIMEOUT_MS: '2500',
      PERSIST_FLUSH_MS: '50',
      BODY_LIMIT_BYTES: '1024',
      PERSIST_BATCH_SIZE: '10',
    });
    expect(c).toMatchObject({ webhookTimeoutMs: 2500, persistFlushMs: 50, bodyLimitBytes: 1024, persistBatchSize: 10 });
    for (const [k, v] of [
      ['WEBHOOK_TIMEOUT_MS', '0'],
      ['PERSIST_FLUSH_MS', '1.5'],
      ['BROWSER_MEMORY_CHECK_MS', '-1'],
      ['PERSIST_BUFFER_LIMIT', 'many'],
    ] as const) {
      expect(() => loadInstanceConfig({ ...base, [k]: v })).toThrow(new RegExp(k));
    }
  });
});

describe('webhook retry policy', () => {
  test('2xx delivered; 4xx final except 408/429; 5xx and no answer retried until the last attempt', () => {
    expect(classify(200, 1, 10)).toBe('delivered');
    expect(classify(204, 10, 10)).toBe('delivered');
    expect(classify(400, 1, 10)).toBe('failed');
    expect(classify(404, 1, 10)).toBe('failed');
    expect(classify(408, 1, 10)).toBe('retry');
    expect(classify(429, 1, 10)).toBe('retry');
    expect(classify(500, 1, 10)).toBe('retry');
    expect(classify(null, 9, 10)).toBe('retry');
    expect(classify(503, 10, 10)).toBe('failed');
  });
  test('backoff doubles from 5 s to the 5 min cap, with jitter in the upper half', () => {
    const lo = (n: number) => backoffMs(n, 5_000, 300_000, () => 0);
    const hi = (n: number) => backoffMs(n, 5_000, 300_000, () => 1);
    expect([1, 2, 3, 4].map(hi)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect([1, 2, 3].map(lo)).toEqual([2_500, 5_000, 10_000]);
    expect(hi(7)).toBe(300_000);
    expect(hi(30)).toBe(300_000);
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(3, 5_000, 300_000);
      expect(d).toBeGreaterThanOrEqual(10_000);
      expect(d).toBeLessThanOrEqual(20_000);
    }
  });
});

describe('webhook signature', () => {
  test('HMAC-SHA256 over "<timestamp>.<raw body>", hex, v1= prefix; verify rejects tampering and stale timestamps', () => {
    const body = '{"id":"evt_1","event":"message"}';
    const ts = 1_763_800_000;
    const expected = `v1=${createHmac('sha256', 's3cret').update(`${ts}.${body}`).digest('hex')}`;
    expect(sign('s3cret', ts, body)).toBe(expected);
    const now = ts * 1000;
    expect(verify('s3cret', ts, body, expected, 300, now)).toBe(true);
    expect(verify('s3cret', ts, body.replace('message', 'massage'), expected, 300, now)).toBe(false);
    expect(verify('other', ts, body, expected, 300, now)).toBe(false);
    expect(verify('s3cret', ts, body, expected, 300, now + 301_000)).toBe(false);
  });
  test('event ids are stable per fact and distinct across facts', () => {
    expect(eventId('message', 'm1')).toBe(eventId('message', 'm1'));
    expect(eventId('message', 'm1')).not.toBe(eventId('message.any', 'm1'));
    expect(eventId('message', 'm1')).toMatch(/^evt_[0-9a-f]{32}$/);
  });
});

test('grants, chat ids, regex escaping', () => {
  expect([grants('r', 'r'), grants('r', 'w'), grants('w', 'w'), grants('w', 'r'), grants('rw', 'r'), grants('rw', 'w')]).toEqual([
    true,
    false,
    true,
    false,
    true,
    true,
  ]);
  expect(toChatId('+1 (555) 000-1111')).toBe('15550001111@c.us');
  expect(toChatId('120363@g.us')).toBe('120363@g.us');
  expect(new RegExp(escapeRegex('a.b*(c)')).test('a.b*(c)')).toBe(true);
  expect(new RegExp(escapeRegex('a.b')).test('axb')).toBe(false);
});
