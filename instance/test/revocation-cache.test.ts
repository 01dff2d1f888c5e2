/**
 * The token verification cache is bounded (LRU) and caches negative results briefly, so bogus tokens cost one read
 * each — against the real test database, its reads of token records counted.
 */
import { jest } from '@jest/globals';
import { startMongo, uniqueDbName, type MongoServer } from '@wacloud/testenv';
import { NEGATIVE_CACHE_MAX, TokenService } from '../src/services/tokens.js';
import { openStore, type Store } from '../src/storage/store.js';

let mongo: MongoServer;
let store: Store;

beforeAll(async () => {
  mongo = await startMongo();
  store = await openStore(mongo.dbUri(uniqueDbName('revcache')));
  await store.init();
});

afterAll(async () => {
  await store?.close();
  await mongo?.stop();
});

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
