/** Where the test infrastructure lives: `.tools/bin` of the repo (made by `make tools`), overridable. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above testenv/dist or testenv/src). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Directory of the built tools: `WACLOUD_TOOLS_DIR`, else `<repo>/.tools/bin`. */
export function toolsBin(): string {
  return process.env.WACLOUD_TOOLS_DIR || path.join(repoRoot, '.tools', 'bin');
}

/** Absolute path of `name` in {@link toolsBin} or on PATH, else undefined. */
export function findBinary(name: string): string | undefined {
  const candidates = [
    path.join(toolsBin(), name),
    ...(process.env.PATH ?? '')
      .split(':')
      .filter(Boolean)
      .map((d) => path.join(d, name)),
  ];
  return candidates.find((p) => existsSync(p));
}

/**
 * Chromium executable for tests: `CHROMIUM_PATH`, else `.tools/bin/chromium`, else `chromium` on PATH.
 * @throws Error naming `make tools` when none exists.
 */
export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  const found = findBinary('chromium') ?? findBinary('chromium-browser');
  if (!found) throw new Error('no Chromium found: run `make tools` or set CHROMIUM_PATH');
  return found;
}
