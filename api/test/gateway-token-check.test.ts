/**
 * The gateway's instance-token check (TokenCheck) against a real local HTTP server in the instance's place, answering
 * `POST /internal/v1/tokens/verify` and counting the calls: verdicts are cached (valid briefly, invalid longer), the
 * caches are bounded, the internal key is sent, and an instance without the endpoint fails closed; concurrent checks
 * share one call, and a valid verdict in use is renewed in the background before it expires.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenCheck } from '../src/gateway/token-check.js';
import type { InstanceEndpoints } from '../src/providers/index.js';

let server: http.Server;
let ep: InstanceEndpoints;
let calls = 0;
let keys: string[] = [];
/** Tokens the instance no longer knows (deleted since). */
const revoked = new Set<string>();
/** While set, the instance answers token checks only once it settles. */
let hold: Promise<void> | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      if (req.url !== '/internal/v1/tokens/verify') return void res.writeHead(404).end('{"error":{"code":"route_not_found"}}');
      calls++;
      keys.push(req.headers.authorization ?? '');
      await hold; // counted when it arrives, answered once the hold settles
      const { token } = JSON.parse(body) as { token: string };
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(token.startsWith('wai_good') && !revoked.has(token) ? { valid: true, permissions: 'r' } : { valid: false }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ep = { publicUrl: url, internalUrl: url, internalKey: 'the-internal-key' };
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  calls = 0;
  keys = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('valid and invalid verdicts are cached per instance and token, each for its own time', async () => {
  let clock = 1_000_000;
  const check = new TokenCheck({ validTtlMs: 100, invalidTtlMs: 1_000, now: () => clock });
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_1')).toBe('r');
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_1')).toBe('r');
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_1')).toBeUndefined();
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_1')).toBeUndefined();
  expect(calls).toBe(2);
  expect(keys).toEqual(['Bearer the-internal-key', 'Bearer the-internal-key']);
  // Another instance asks its own instance.
  expect(await check.permissions('i-bbbbbbbbbbbb', ep, 'wai_good_1')).toBe('r');
  expect(calls).toBe(3);
  clock += 250; // the valid verdict expired, the invalid one not yet
  await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_1');
  await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_1');
  expect(calls).toBe(4);
  clock += 900;
  await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_1');
  expect(calls).toBe(5);
});

test('the caches are bounded: many guessed tokens keep at most maxEntries verdicts', async () => {
  const check = new TokenCheck({ maxEntries: 3 });
  for (let i = 0; i < 10; i++) await check.permissions('i-aaaaaaaaaaaa', ep, `wai_bad_${i}`);
  for (let i = 0; i < 5; i++) await check.permissions('i-aaaaaaaaaaaa', ep, `wai_good_${i}`);
  expect(check.sizes()).toEqual({ valid: 3, invalid: 3 });
  // The newest verdicts stay, the oldest went.
  calls = 0;
  await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_9');
  expect(calls).toBe(0);
  await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_0');
  expect(calls).toBe(1);
});

test('an instance without the verify endpoint, or one that cannot be reached, fails closed', async () => {
  const check = new TokenCheck();
  await expect(
    check.permissions('i-aaaaaaaaaaaa', { ...ep, internalUrl: `${ep.internalUrl}/elsewhere` }, 'wai_good_1'),
  ).rejects.toMatchObject({ code: 'upstream_error' });
  await expect(check.permissions('i-aaaaaaaaaaaa', { ...ep, internalUrl: 'http://127.0.0.1:1' }, 'wai_good_1')).rejects.toMatchObject({
    code: 'instance_unavailable',
  });
});

test('concurrent checks of one token share one call to the instance', async () => {
  const check = new TokenCheck();
  const all = await Promise.all(Array.from({ length: 20 }, () => check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_shared')));
  expect(all).toEqual(Array.from({ length: 20 }, () => 'r'));
  const bad = await Promise.all(Array.from({ length: 20 }, () => check.permissions('i-aaaaaaaaaaaa', ep, 'wai_bad_shared')));
  expect(bad).toEqual(Array.from({ length: 20 }, () => undefined));
  expect(calls).toBe(2);
});

test('a valid verdict past half its time answers at once and is renewed in the background; a deletion still ends it within its time', async () => {
  // The check's clock is the test's (verdicts are timed by it), so the machine's load cannot shift the steps.
  const ttl = 4_000;
  let clock = 1_000_000;
  const t0 = clock;
  const check = new TokenCheck({ validTtlMs: ttl, now: () => clock });
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_renew')).toBe('r');
  expect(calls).toBe(1);
  // Past half its time, with the instance holding its answers: the checks answer from the cache while one renewal waits.
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  clock = t0 + ttl / 2 + 300;
  expect(await Promise.all([1, 2, 3].map(() => check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_renew')))).toEqual(['r', 'r', 'r']);
  await eventually(() => calls === 2);
  clock = t0 + ttl - 100;
  release(); // renewed just before the first verdict's time is up
  hold = undefined;
  await sleep(50);
  // After the first verdict's time: still valid, and no call in the request's path (a renewal not yet answered is
  // the one awaited here, so from here on the renewed verdict is in place, timed between t0 + ttl − 100 and now).
  clock = t0 + ttl + 200;
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_renew')).toBe('r');
  expect(calls).toBe(2);
  // Deleted at the instance: refused once the renewed verdict is renewed again — within its time.
  revoked.add('wai_good_renew');
  clock = t0 + ttl + 200 + ttl / 2 + 100; // past half the renewed verdict's time, before its end
  expect(await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_renew')).toBe('r'); // the renewal starts
  await eventually(() => calls === 3);
  let verdict: string | undefined = 'r';
  for (let i = 0; i < 500 && verdict !== undefined; i++) {
    await sleep(10);
    verdict = await check.permissions('i-aaaaaaaaaaaa', ep, 'wai_good_renew');
  }
  expect(verdict).toBeUndefined();
  expect(calls).toBe(3);
});

/** Waits until `cond` holds (checked every 10 ms, at most 5 s). */
async function eventually(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  expect(cond()).toBe(true);
}
