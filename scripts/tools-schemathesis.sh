#!/usr/bin/env bash
# Schemathesis (PyPI), the property-based fuzzer of the OpenAPI documents (api/test/fuzz-openapi.test.ts): a pinned
# version installed once into a virtualenv in the tools cache with pip from the configured index, its `schemathesis`
# linked into $TOOLS_BIN. Python serves test tooling only; nothing is downloaded at test time.
set -euo pipefail
ver=4.32.5
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools"
out="$cache/schemathesis-$ver"
bin="${TOOLS_BIN:?}"
log() { echo "tools: $*" >&2; }
if [ "$("$out/bin/schemathesis" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1 || true)" != "$ver" ]; then
  py=$(command -v python3 || true)
  [ -n "$py" ] || { log "python3 (3.10 or later, with venv) is needed for schemathesis $ver"; exit 1; }
  log "installing schemathesis $ver into $out (first time only)"
  rm -rf "$out"
  "$py" -m venv "$out"
  "$out/bin/pip" install --quiet "schemathesis==$ver" >&2 || { rm -rf "$out"; exit 1; }
fi
ln -sfn "$out/bin/schemathesis" "$bin/schemathesis"
