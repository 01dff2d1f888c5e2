#!/usr/bin/env node
/**
 * Prints the gzipped size of the initial JavaScript of the production build: the scripts and modulepreloads of
 * index.html plus every chunk they import statically (lazy `import()` chunks excluded). Budget: 300 kB gzipped.
 * Usage: `npm run size -w dashboard` (after `npm run build -w dashboard`). Exit 1 when over budget or unbuilt.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 300 * 1000;
const dir = process.argv[2] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'dashboard', 'browser');
const indexFile = path.join(dir, 'index.html');
if (!existsSync(indexFile)) {
  console.error(`size: no build in ${dir}; run \`npm run build -w dashboard\` first`);
  process.exit(1);
}
const html = readFileSync(indexFile, 'utf8');
const entries = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map((m) => m[1]);
const staticImport = /(?:^|[;\s}])import\s*(?:[^"'()]*?from\s*)?["']\.\/([^"']+\.js)["']/g;
const seen = new Set();
const queue = [...entries];
while (queue.length) {
  const file = queue.shift().replace(/^\.?\//, '');
  if (seen.has(file)) continue;
  seen.add(file);
  const src = readFileSync(path.join(dir, file), 'utf8');
  for (const m of src.matchAll(staticImport)) queue.push(m[1]);
}
let raw = 0;
let gz = 0;
const rows = [];
for (const file of seen) {
  const buf = readFileSync(path.join(dir, file));
  const g = gzipSync(buf, { level: 9 }).length;
  raw += buf.length;
  gz += g;
  rows.push(`  ${file.padEnd(28)} ${(buf.length / 1000).toFixed(1).padStart(8)} kB raw ${(g / 1000).toFixed(1).padStart(8)} kB gzip`);
}
console.log(rows.join('\n'));
console.log(
  `size: initial JavaScript ${(gz / 1000).toFixed(1)} kB gzipped (${(raw / 1000).toFixed(1)} kB raw, ${seen.size} files); budget ${BUDGET_BYTES / 1000} kB`,
);
if (gz > BUDGET_BYTES) {
  console.error('size: over budget');
  process.exit(1);
}
