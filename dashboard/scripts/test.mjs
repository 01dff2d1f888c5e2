#!/usr/bin/env node
/**
 * Unit tests (Vitest + jsdom through `ng test`), once, with the closing line `dashboard unit: N passed, N failed`.
 * The Vitest JSON report goes to $DASHBOARD_TEST_JSON (default dashboard/test-results/vitest.json).
 * Exit status: non-zero when a test failed or the run broke (e.g. a compile error).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.env.DASHBOARD_TEST_JSON ?? path.join(root, 'test-results', 'vitest.json'));
mkdirSync(path.dirname(out), { recursive: true });
rmSync(out, { force: true });
const ng = createRequire(path.join(root, 'package.json')).resolve('@angular/cli/bin/ng.js');
const r = spawnSync(
  process.execPath,
  [ng, 'test', '--watch=false', '--reporters=default', '--reporters=json', `--output-file=${out}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
let passed = 0;
let failed = 0;
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites && !report.numFailedTests ? report.numFailedTestSuites : 0);
} else {
  failed = 1;
  console.log('dashboard unit: the test run wrote no report (build or setup failure)');
}
if (r.status !== 0 && failed === 0) failed = 1;
console.log(`dashboard unit: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
