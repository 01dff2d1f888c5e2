#!/usr/bin/env node
/**
 * Marks every JavaScript file of the production build for eager compilation: prepends V8's explicit compile hint
 * `//# allFunctionsCalledOnLoad` (Chrome ≥ 136; other engines read a comment). The bundles are the app's own code,
 * loaded when their page shows (initial files at start, lazy chunks with their route), so most of their functions run
 * right away; V8 then compiles them on a background thread while the file streams in, instead of lazily on the main
 * thread at the first call — measured on the bootstrap task under Lighthouse: about half its main-thread time (issue 18,
 * item 7; dashboard/README.md, Performance). Source maps get one empty line in front so they still line up.
 * Idempotent; runs after `ng build` (`npm run build -w dashboard`). Usage: `node scripts/compile-hints.mjs [dir]`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HINT = '//# allFunctionsCalledOnLoad\n';

/**
 * Prepends the hint to each `.js` file of `dir` that lacks it and shifts its `.js.map` by one line.
 * @returns the names of the files changed.
 */
export function addCompileHints(dir) {
  const changed = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js')) continue;
    const file = path.join(dir, name);
    const src = readFileSync(file, 'utf8');
    if (src.startsWith(HINT)) continue;
    writeFileSync(file, HINT + src);
    const mapFile = `${file}.map`;
    if (existsSync(mapFile)) {
      const map = JSON.parse(readFileSync(mapFile, 'utf8'));
      map.mappings = `;${map.mappings}`;
      writeFileSync(mapFile, JSON.stringify(map));
    }
    changed.push(name);
  }
  return changed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'dashboard', 'browser');
  if (!existsSync(path.join(dir, 'index.html'))) {
    console.error(`compile-hints: no build in ${dir}`);
    process.exit(1);
  }
  const changed = addCompileHints(dir);
  console.log(`compile-hints: ${changed.length} JavaScript file(s) marked for eager compilation in ${dir}`);
}
