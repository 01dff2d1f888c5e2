/**
 * `@opentelemetry/api`, which prom-client requires at load for exemplars (`enableExemplars`, never set here), loaded at
 * its first use instead (~0.3–0.5 MiB of an idle service's RSS): a stand-in whose every property read loads the real
 * module (`lazy-require.ts`). Imported by `metrics.ts` before prom-client.
 */
import { resolveFrom, standIn } from './lazy-require.js';

const otelFile = resolveFrom(resolveFrom(import.meta.url, 'prom-client'), '@opentelemetry/api');
if (otelFile)
  standIn(
    otelFile,
    (load) =>
      new Proxy(
        {},
        {
          get: (_t, key) => Reflect.get(load() as object, key),
          has: (_t, key) => Reflect.has(load() as object, key),
          ownKeys: () => Reflect.ownKeys(load() as object),
          getOwnPropertyDescriptor: (_t, key) => {
            const d = Reflect.getOwnPropertyDescriptor(load() as object, key);
            return d && { ...d, configurable: true };
          },
        },
      ),
  );
