#!/usr/bin/env bash
# `make test`: runs the tests of every workspace and of the chart (charts/test; Jest, against real servers) and prints
# the closing line "N passed, N failed" summed over all of them. Exit status: non-zero when any test failed or a suite crashed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/test-results"
rm -rf "$out" && mkdir -p "$out"
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}"
status=0
for ws in kit testenv crds kube-runtime simnet instance operator api charts; do
  echo "── tests: $ws"
  (cd "$root/$ws" && npx jest --ci --forceExit --json --outputFile="$out/$ws.json") || status=1
done
echo "── tests: dashboard (unit)"
(cd "$root" && NODE_OPTIONS= DASHBOARD_TEST_JSON="$out/dashboard.json" npm test -w dashboard) || status=1
echo "── tests: dashboard (end-to-end in Chromium against the real api)"
(cd "$root" && NODE_OPTIONS= npm run e2e -w dashboard 2>&1 | tee "$out/e2e.log") || status=1
echo "── tests: chart on a real single-node cluster (alone: it needs both CPUs)"
(cd "$root/charts" && npx jest --ci --forceExit --testMatch '<rootDir>/test/cluster.e2e.ts' --json --outputFile="$out/cluster.json") || status=1
echo "── dashboard initial bundle"
(cd "$root" && NODE_OPTIONS= npm run size -w dashboard) || status=1
node - "$out" kit testenv crds kube-runtime simnet instance operator api charts cluster dashboard <<'JS' || status=1
const fs = require('fs'), path = require('path');
const [dir, ...workspaces] = process.argv.slice(2);
let passed = 0, failed = 0, broken = 0;
// A digest of every failure just above the closing line (a CI log shown by its head and tail still names them):
// the test, then the first lines of its message without colour codes.
const digest = [];
const brief = (text, lines = 14) =>
  text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim()).slice(0, lines)
    .map((l) => `    ${l.slice(0, 240)}`).join('\n');
for (const ws of workspaces) {
  const f = path.join(dir, `${ws}.json`);
  if (!fs.existsSync(f)) { console.log(`${ws}: jest wrote no results`); broken++; continue; }
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  passed += r.numPassedTests; failed += r.numFailedTests;
  broken += r.numRuntimeErrorTestSuites ?? 0;
  for (const file of r.testResults ?? []) {
    const failures = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failures) digest.push(`✕ ${ws}: ${a.fullName}\n${brief((a.failureMessages ?? []).join('\n'))}`);
    if (!failures.length && file.status === 'failed') digest.push(`✕ ${ws}: ${path.basename(file.name)} (suite)\n${brief(file.message ?? '')}`);
  }
}
// The end-to-end run prints its own line "e2e: N passed, N failed" (and "e2e: failed: …" naming its failures).
const e2eLog = path.join(dir, 'e2e.log');
const e2eText = fs.existsSync(e2eLog) ? fs.readFileSync(e2eLog, 'utf8') : '';
const m = /e2e: (\d+) passed, (\d+) failed/.exec(e2eText);
if (m) { passed += Number(m[1]); failed += Number(m[2]); } else { console.log('dashboard e2e: no result line'); broken++; }
const e2eFailed = /^e2e: failed: .*$/m.exec(e2eText);
if (e2eFailed) digest.push(`✕ dashboard e2e\n    ${e2eFailed[0].slice(0, 1000)}`);
if (digest.length) console.log(`── failures (${digest.length}; whole messages above and in test-results/)\n${digest.slice(0, 12).join('\n')}`);
if (broken) console.log(`${broken} test suite(s) failed to run`);
console.log(`${passed} passed, ${failed + broken} failed`);
process.exit(failed + broken ? 1 : 0);
JS
exit $status
