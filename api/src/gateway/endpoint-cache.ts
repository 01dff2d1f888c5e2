/**
 * A cache of instance endpoints in front of a provider, so that requests through the gateway (and the token API) do
 * not each cost an apiserver GET, a Docker inspect or a health probe: {@link cachingEndpoints} wraps a provider;
 * `endpoints(id)` answers from the cache — a found instance for `ttlMs` (30 s by default), a `not_found` or `not_ready`
 * refusal for `negativeTtlMs` (2 s; a `fresh` lookup skips it) — and concurrent lookups of one id share one provider
 * call. A found instance whose entry expired less than `ttlMs` ago is still answered from the cache while one lookup
 * refreshes it in the background (refresh-ahead): a lookup can take as long as the instance's `/health` answer under
 * load, and every request arriving meanwhile used to wait for it — a latency tail every `ttlMs` at high concurrency
 * (issue 18's gateway p99). The refresh's answer replaces the entry (a refusal is remembered as usual; a failing
 * backend drops it). Any change made
 * through the wrapper (create, suspend, resume, restart, delete) drops that instance's entry at once. The cache holds at most
 * `maxEntries` instances (oldest first out).
 *
 * Other replicas' suspensions and deletions need no message: the api's database is read before the endpoints are
 * (`InstanceService.endpoints` refuses a suspended or deleted instance), so the cache only ever serves instances the
 * database says are live.
 */
import { ProviderError, type InstanceEndpoints, type InstanceProvider } from '../providers/index.js';

export interface EndpointCacheOptions {
  /** How long found endpoints are reused, ms. Default 30,000. */
  ttlMs?: number;
  /** How long a `not_found` / `not_ready` answer is reused, ms. Default 2,000. */
  negativeTtlMs?: number;
  /** Most instances kept. Default 10,000. */
  maxEntries?: number;
}

interface Entry {
  result: Promise<InstanceEndpoints>;
  expiresAt: number;
  /** The provider refused (`not_found` / `not_ready`). */
  refused?: boolean;
  /** The background lookup replacing this expired entry (refresh-ahead). */
  refreshing?: Entry | undefined;
}

const CHANGES = new Set(['create', 'suspend', 'resume', 'restart', 'delete']);

/**
 * `provider` with cached `endpoints` (see the module comment); every other member is the provider's own.
 * @returns a provider of the same kind; `close()` also empties the cache.
 */
export function cachingEndpoints(provider: InstanceProvider, o: EndpointCacheOptions = {}): InstanceProvider {
  const ttlMs = o.ttlMs ?? 30_000;
  const negativeTtlMs = o.negativeTtlMs ?? 2_000;
  const maxEntries = o.maxEntries ?? 10_000;
  const cache = new Map<string, Entry>();
  const put = (id: string, e: Entry) => {
    cache.delete(id);
    cache.set(id, e);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  };
  /**
   * One provider lookup of `id` as an entry. Without `replaces` the caller puts the entry in the cache at once; with
   * it (a refresh-ahead), the settled entry takes the place of `replaces` only if the cache still holds that one — a
   * change made meanwhile (which dropped it) is not undone by a lookup begun before it.
   */
  const lookup = (id: string, replaces?: Entry): Entry => {
    const entry: Entry = { result: provider.endpoints(id), expiresAt: Number.POSITIVE_INFINITY };
    const settle = () => {
      if (replaces && cache.get(id) === replaces) put(id, entry);
    };
    entry.result.then(
      () => {
        entry.expiresAt = Date.now() + ttlMs;
        settle();
      },
      (err: unknown) => {
        const refusal = err instanceof ProviderError && (err.code === 'not_found' || err.code === 'not_ready');
        // Anything else (the backend unavailable) is not remembered: the next request asks again.
        if (refusal) {
          entry.refused = true;
          entry.expiresAt = Date.now() + negativeTtlMs;
          settle();
        } else if (cache.get(id) === (replaces ?? entry)) cache.delete(id);
      },
    );
    return entry;
  };
  const endpoints = (id: string, opts?: { fresh?: boolean }): Promise<InstanceEndpoints> => {
    const hit = cache.get(id);
    const now = Date.now();
    // A `fresh` lookup (a caller polling a starting instance) skips a remembered refusal, not a lookup in flight.
    if (hit && hit.expiresAt > now && !(opts?.fresh && hit.refused)) return hit.result;
    if (hit && !hit.refused && hit.expiresAt + ttlMs > now) {
      hit.refreshing ??= lookup(id, hit);
      return hit.result;
    }
    const entry = lookup(id);
    put(id, entry);
    return entry.result;
  };
  return new Proxy(provider, {
    get(target, prop, receiver) {
      if (prop === 'endpoints') return endpoints;
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'close')
        return () => {
          cache.clear();
          return (value as () => Promise<void>).call(target);
        };
      if (typeof prop === 'string' && CHANGES.has(prop))
        return async (arg: unknown, ...rest: unknown[]) => {
          const id = typeof arg === 'string' ? arg : (arg as { id?: string } | undefined)?.id;
          if (id) cache.delete(id);
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).call(target, arg, ...rest);
          } finally {
            if (id) cache.delete(id);
          }
        };
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}
