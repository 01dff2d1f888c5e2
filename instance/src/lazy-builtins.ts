/**
 * `node:tls` and `node:https`, loaded at their first use instead of at start (instance/README.md, "Memory"; ~3 MiB of
 * the idle instance's RSS, the two together). Dependencies require them when they are loaded, and an idle instance
 * never uses either:
 *
 * - `tls`: the MongoDB driver (`cmap/connect.js`, `client-side-encryption/state_machine.js`) and `ws` — used by a TLS
 *   connection to MongoDB (`tls=true` in MONGODB_URI) and a `wss:` WebSocket;
 * - `https`: `ws`, prom-client's Pushgateway and `src/node-http.ts` — used by a `wss:` WebSocket, a push to a
 *   Pushgateway and a media URL on `https:`.
 *
 * Each is a stand-in in `require`'s module cache under the builtin's bare name: Node looks a name without the `node:`
 * scheme up in `require.cache` before its builtins (https://nodejs.org/api/modules.html#requirecache), so the
 * dependencies' `require('tls')` gets the stand-in; `require('node:tls')` and ES-module imports always get the builtin.
 * The stand-in forwards every operation to the real module, which it loads at the first one (and then leaves the
 * cache to it). Import this module before anything that loads those dependencies (`@wacloud/kit` loads prom-client):
 * first in `main.ts` and `instance-app.ts`.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

/** The builtins an idle instance never uses, loaded at their first use (see above). */
export const LAZY_BUILTINS = ['tls', 'https'] as const;

/**
 * A stand-in for the module object `load()` returns: every property read, write, `in`, key listing and descriptor
 * goes to the real object, loaded (once) by the first of them. Descriptors are reported configurable (a Proxy may not
 * report a non-configurable property its empty target lacks); everything else is the real module's.
 */
export function lazyModule<T extends object>(load: () => T): T {
  let real: T | undefined;
  const target = (): T => (real ??= load());
  return new Proxy({} as T, {
    get: (_t, p) => Reflect.get(target(), p),
    set: (_t, p, v) => Reflect.set(target(), p, v),
    has: (_t, p) => Reflect.has(target(), p),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(target(), p);
      return d && { ...d, configurable: true };
    },
    defineProperty: (_t, p, d) => Reflect.defineProperty(target(), p, d),
    deleteProperty: (_t, p) => Reflect.deleteProperty(target(), p),
  });
}

/**
 * Puts a stand-in ({@link lazyModule}) for builtin `name` into `require.cache` under `name`; its first use loads the
 * builtin and removes the stand-in from the cache (later `require(name)`s get the builtin itself). Does nothing when
 * the cache already holds `name`.
 */
export function deferBuiltin(name: string): void {
  if (require.cache[name]) return;
  const m = new Module(name);
  m.filename = name;
  m.loaded = true;
  m.exports = lazyModule(() => {
    if (require.cache[name] === m) delete require.cache[name];
    return require(`node:${name}`) as object;
  });
  require.cache[name] = m;
}

for (const name of LAZY_BUILTINS) deferBuiltin(name);
