#!/usr/bin/env node
// Usage (in an image build, after `npm ci --omit=dev`): node scripts/prune-deploy.mjs <workspace>
//
// `npm ci` installs the production dependencies of every workspace, whatever `--workspace` says. This keeps only
// what <workspace> needs at run time: the packages `npm ls --omit=dev --all --parseable -w <workspace>` lists (read
// from the lock-installed tree, so the result is as reproducible as the lock) and deletes every other package
// directory under node_modules. Prints how many packages were kept and removed.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const ws = process.argv[2];
if (!ws) {
  console.error('usage: prune-deploy.mjs <workspace>');
  process.exit(2);
}
const root = process.cwd();
let listed;
try {
  listed = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '-w', ws], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
} catch (err) {
  // npm ls exits 1 for peer-dependency problems it can still list; a missing workspace prints nothing.
  listed = err.stdout ?? '';
}
const keep = new Set(
  listed
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(path.join(root, 'node_modules'))),
);
if (keep.size === 0) {
  console.error(`prune-deploy: npm ls listed nothing for workspace "${ws}"`);
  process.exit(1);
}

let kept = 0;
let removed = 0;
/** Visits the package directories of one node_modules folder (scoped ones included). */
function walk(nm) {
  if (!existsSync(nm)) return;
  for (const name of readdirSync(nm)) {
    if (name === '.bin' || name === '.package-lock.json') continue;
    const p = path.join(nm, name);
    if (name.startsWith('@')) {
      walk(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    if (keep.has(p)) {
      kept++;
      if (!lstatSync(p).isSymbolicLink()) walk(path.join(p, 'node_modules'));
    } else {
      rmSync(p, { recursive: true, force: true });
      removed++;
    }
  }
}
walk(path.join(root, 'node_modules'));
console.log(`prune-deploy ${ws}: kept ${kept} packages, removed ${removed}`);
