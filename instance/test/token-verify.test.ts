/**
 * Token verification's cache against the real test database: bounded (LRU) with negative results cached briefly, so
 * bogus tokens cost one read each; and under load (issue 18, the gateway's tail) requests presenting one token at once
 * share one read of it, and a record in steady use is read again in the background past half its time — never used
 * past its time.
 */
import { jest } from '@jest/globals';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { NEGATIVE_CACHE_MAX, TokenService } from '../src/services/tokens.js';
import { openStore, type Store } from '../src/storage/store.js';

let mongo: MongoServer;
let store: Store;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openStore(mongo.dbUri(uniqueDbName('tokverify')));
  await store.init();
});

afterAll(async () => {
  await store?.close();
  await mongo?.stop();
});

/** Counts the reads of token records; while `held`, they wait for `release()` (then call through to the database). */
function gateReads(): { reads: () => number; hold: () => void; release: () => void; restore: () => void } {
  const original = store.tokens.findOne.bind(store.tokens) as (...a: unknown[]) => Promise<unknown>;
  let reads = 0;
  let waiting: (() => void)[] | undefined;
  const spy = jest.spyOn(store.tokens, 'findOne').mockImplementation((async (...a: unknown[]) => {
    reads++;
    if (waiting) await new Promise<void>((r) => waiting!.push(r));
    return original(...a);
  }) as never);
  const release = () => {
    for (const r of waiting?.splice(0) ?? []) r();
    waiting = undefined;
  };
  return {
    reads: () => reads,
    hold: () => void (waiting ??= []),
    release,
    restore: () => {
      release();
      spy.mockRestore();
    },
  };
}

function bogus(i: number): string {
  return `wai_${i.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`;
}

test('20,000 distinct bogus tokens leave the cache bounded (5,000 negative entries); a repeated bogus token is not read again', async () => {
  const findOne = jest.spyOn(store.tokens, 'findOne');
  try {
    const tokens = new TokenService(store);
    for (let i = 0; i < 20_000; i++) expect(await tokens.verify(bogus(i))).toBeUndefined();
    expect(findOne).toHaveBeenCalledTimes(20_000);
    const size = tokens.cacheSize();
    expect(size.positive).toBe(0);
    expect(size.negative).toBeLessThanOrEqual(NEGATIVE_CACHE_MAX);
    // The most recent bogus ids are remembered as negative: a repeat costs no database read.
    for (let i = 19_990; i < 20_000; i++) expect(await tokens.verify(bogus(i))).toBeUndefined();
    expect(findOne).toHaveBeenCalledTimes(20_000);
    // The oldest were dropped from the bound: a repeat reads again.
    expect(await tokens.verify(bogus(0))).toBeUndefined();
    expect(findOne).toHaveBeenCalledTimes(20_001);
  } finally {
    findOne.mockRestore();
  }
});

test('32 requests presenting one token at once cost one read of it', async () => {
  const { token } = await new TokenService(store).create('burst', 'rw');
  const tokens = new TokenService(store); // a cold cache, as after a restart
  const gate = gateReads();
  try {
    const verdicts = await Promise.all(Array.from({ length: 32 }, () => tokens.verify(token)));
    expect(verdicts.every((v) => v?.permissions === 'rw')).toBe(true);
    expect(gate.reads()).toBe(1);
    // An unknown id too: one read, then remembered.
    const bogus = `wai_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    expect(await Promise.all(Array.from({ length: 8 }, () => tokens.verify(bogus)))).toEqual(Array(8).fill(undefined));
    expect(gate.reads()).toBe(2);
  } finally {
    gate.restore();
  }
});

test('past half its time a record is read again in the background; it is never used past its time', async () => {
  const { token } = await new TokenService(store).create('steady', 'r');
  const tokens = new TokenService(store, { cacheTtlMs: 2_000 });
  const gate = gateReads();
  try {
    expect((await tokens.verify(token))?.permissions).toBe('r');
    const readAt = Date.now();
    gate.hold();
    await new Promise((r) => setTimeout(r, 1_100 - (Date.now() - readAt)));
    // Answered from the record while one read (held) refreshes it.
    const verdicts = await Promise.all(Array.from({ length: 8 }, () => tokens.verify(token)));
    expect(verdicts.every((v) => v?.permissions === 'r')).toBe(true);
    expect(gate.reads()).toBe(2);
    // Past its time the record is not used: a verification waits for the read under way and shares it.
    await new Promise((r) => setTimeout(r, 2_100 - (Date.now() - readAt)));
    let answered = false;
    const late = tokens.verify(token).then((v) => ((answered = true), v?.permissions));
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    gate.release();
    expect(await late).toBe('r');
    expect(gate.reads()).toBe(2);
  } finally {
    gate.restore();
  }
});

test('a deletion made while a read is under way is not undone by that read', async () => {
  const service = new TokenService(store);
  const { id, token } = await service.create('revoked', 'rw');
  const gate = gateReads();
  try {
    gate.hold();
    const before = service.verify(token); // its read began before the deletion
    await service.delete(id);
    gate.release();
    await before; // answered with what it read (the request was made before the deletion)
    expect(await service.verify(token)).toBeUndefined();
    expect(gate.reads()).toBe(2);
  } finally {
    gate.restore();
  }
});
