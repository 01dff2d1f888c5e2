/**
 * The gateway's re-check of relays opened with an access token (RelayWatch): a token's relays close with 4401 at its
 * expiry without any read, on a definite refusal (401: logged out) at the next re-check, but not on a failed read.
 */
import { SignJWT } from 'jose';
import { HttpError } from '@wacloud/kit';
import { RelayWatch } from '../src/gateway/relay-watch.js';

const key = new TextEncoder().encode('k'.repeat(32));
const jwt = (expS: number, jti: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(jti)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expS)
    .sign(key);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('relays close at the access token expiry, with no verification needed', async () => {
  let reads = 0;
  const watch = new RelayWatch(async () => void reads++, { intervalMs: 60_000 });
  const closed: Array<[number, string]> = [];
  watch.add(await jwt(1, 'a'), (code, reason) => closed.push([code, reason]));
  watch.add(await jwt(3600, 'b'), (code, reason) => closed.push([code, reason]));
  await sleep(2_100);
  expect(closed).toEqual([[4401, expect.stringMatching(/expired/)]]);
  expect(reads).toBe(0);
  expect(watch.size).toBe(1);
  watch.stop();
});

test('a logged-out token closes all its relays at the next re-check; a failed read closes nothing', async () => {
  const revoked = new Set<string>();
  let failing = false;
  const watch = new RelayWatch(
    async (t) => {
      if (failing) throw new Error('database unavailable');
      if (revoked.has(t)) throw new HttpError(401, 'unauthorized', 'logged out');
    },
    { intervalMs: 100 },
  );
  const [a, b] = [await jwt(3600, 'a'), await jwt(3600, 'b')];
  const closed: string[] = [];
  watch.add(a, () => closed.push('a1'));
  watch.add(a, () => closed.push('a2'));
  const unwatchB = watch.add(b, () => closed.push('b'));
  failing = true;
  revoked.add(a);
  await sleep(350);
  expect(closed).toEqual([]);
  failing = false;
  await sleep(350);
  expect(closed.sort()).toEqual(['a1', 'a2']);
  unwatchB();
  expect(watch.size).toBe(0);
  watch.stop();
});
