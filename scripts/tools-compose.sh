#!/usr/bin/env bash
# Docker Compose v2 for the compose tests (api/test/compose-up.test.ts), called by scripts/tools.sh with TOOLS_BIN set.
# Debian bookworm packages only Compose v1 (docker-compose 1.29, Python), which lacks what docker-compose.yml uses
# (`configs.content`, `depends_on` conditions such as service_completed_successfully, `!override`), so the v2 plugin
# is built once from its Go module (the proxy's source archive; `go install pkg@version` refuses its go.mod, which has
# exclude directives) into ${XDG_CACHE_HOME:-~/.cache}/wacloud/tools/compose-<version> and linked as docker-compose.
set -euo pipefail
ver=v2.40.3
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools"
out="$cache/compose-$ver/docker-compose"
log() { echo "tools: $*" >&2; }
if [ "$("$out" version --short 2>/dev/null || true)" != "${ver#v}" ]; then
  command -v go >/dev/null || { log "Go is needed to build Docker Compose $ver"; exit 1; }
  log "building Docker Compose $ver into $(dirname "$out") (first time only; at nice 19)"
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
  cp -r "$src" "$tmp/src" && chmod -R u+w "$tmp/src"
  mkdir -p "$(dirname "$out")"
  (cd "$tmp/src" && GOFLAGS=-p=1 nice -n 19 go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$ver" -o "$out.tmp" ./cmd)
  mv "$out.tmp" "$out"
fi
ln -sfn "$out" "${TOOLS_BIN:?}/docker-compose"
