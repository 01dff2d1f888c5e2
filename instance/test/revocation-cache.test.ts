/** The token verification cache is bounded (LRU) and caches negative results briefly, so bogus tokens cost one read each. */
import type { Store, TokenDoc } from '../src/storage/store.js';
import { NEGATIVE_CACHE_MAX, TokenService } from '../src/services/tokens.js';

/** A store whose `tokens.findOne` counts its calls and finds nothing but `docs`. */
function fakeStore(docs: Map<string, TokenDoc> = new Map()): { store: Store; reads: () => number } {
  let reads = 0;
  const tokens = {
    findOne: async ({ _id }: { _id: string }) => {
      reads++;
      return docs.get(_id) ?? null;
    },
  };
  return { store: { tokens } as unknown as Store, reads: () => reads };
}

function bogus(i: number): string {
  return `wai_${i.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`;
}

test('20,000 distinct bogus tokens leave the cache bounded (5,000 negative entries); a repeated bogus token is not read again', async () => {
  const { store, reads } = fakeStore();
  const tokens = new TokenService(store);
  for (let i = 0; i < 20_000; i++) expect(await tokens.verify(bogus(i))).toBeUndefined();
  expect(reads()).toBe(20_000);
  const size = tokens.cacheSize();
  expect(size.positive).toBe(0);
  expect(size.negative).toBeLessThanOrEqual(NEGATIVE_CACHE_MAX);
  // The most recent bogus ids are remembered as negative: a repeat costs no database read.
  for (let i = 19_990; i < 20_000; i++) expect(await tokens.verify(bogus(i))).toBeUndefined();
  expect(reads()).toBe(20_000);
});
