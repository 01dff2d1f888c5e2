/**
 * Stand-ins in `require`'s module cache: a CommonJS module that a dependency requires at load but uses later, if at
 * all, is put into the cache under its own file name as a stand-in whose functions load the real module on their first
 * call and delegate to it. Import the module that installs a stand-in before the dependency that requires the real
 * one (instance/README.md, "Memory").
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

/** Loads the real module (once) and returns its exports. */
export type RealModule = () => unknown;

/**
 * Puts a stand-in for the CommonJS module `filename` into `require`'s cache, `make(load)` being its exports; `load`
 * requires the real module in its place (later `require`s get the real one) and returns its exports. Does nothing when
 * `filename` is already loaded.
 */
export function standIn(filename: string, make: (load: RealModule) => unknown): void {
  if (require.cache[filename]) return;
  let real: unknown;
  const load: RealModule = () => {
    if (real === undefined) {
      delete require.cache[filename];
      real = require(filename);
    }
    return real;
  };
  const m = new Module(filename);
  m.filename = filename;
  m.loaded = true;
  m.exports = make(load);
  require.cache[filename] = m;
}

/** The file `require(spec)` loads from the module `from` (a path or file URL), or undefined where it cannot resolve. */
export function resolveFrom(from: string | undefined, spec: string): string | undefined {
  if (from === undefined) return undefined;
  try {
    return createRequire(from).resolve(spec);
  } catch {
    return undefined;
  }
}
