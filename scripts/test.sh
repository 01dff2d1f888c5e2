#!/usr/bin/env bash
# `make test`: runs every workspace's tests (Jest, against real servers) and prints the closing line
# "N passed, N failed" summed over all of them. Exit status: non-zero when any test failed or a suite crashed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/test-results"
rm -rf "$out" && mkdir -p "$out"
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}"
status=0
for ws in kit testenv crds instance operator api; do
  echo "── tests: $ws"
  (cd "$root/$ws" && npx jest --ci --json --outputFile="$out/$ws.json") || status=1
done
node - "$out" kit testenv crds instance operator api <<'JS' || status=1
const fs = require('fs'), path = require('path');
const [dir, ...workspaces] = process.argv.slice(2);
let passed = 0, failed = 0, broken = 0;
for (const ws of workspaces) {
  const f = path.join(dir, `${ws}.json`);
  if (!fs.existsSync(f)) { console.log(`${ws}: jest wrote no results`); broken++; continue; }
  const r = JSON.parse(fs.readFileSync(f, 'utf8'));
  passed += r.numPassedTests; failed += r.numFailedTests;
  broken += r.numRuntimeErrorTestSuites;
}
if (broken) console.log(`${broken} test suite(s) failed to run`);
console.log(`${passed} passed, ${failed + broken} failed`);
process.exit(failed + broken ? 1 : 0);
JS
exit $status
