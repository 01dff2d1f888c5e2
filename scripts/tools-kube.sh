#!/usr/bin/env bash
# Kubernetes test control plane (envtest style, no cluster): links kube-apiserver, kube-controller-manager, kubectl
# and etcd into $TOOLS_BIN (default <repo>/.tools/bin), idempotently.
# The three Kubernetes binaries are built once from the k8s.io/kubernetes Go module pinned in tools/kube/go.mod into
# ${XDG_CACHE_HOME:-~/.cache}/wacloud/tools/kube-<version>/ (outside the clone, so fresh clones reuse them); the
# first build takes a while (see tools/kube/README.md). etcd: etcd on PATH, else Debian's etcd-server (root only).
# Env: TOOLS_BIN, KUBE_BUILD_P (go build -p, default 1: the build runs at nice 19 with one package at a time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/tools/kube"
bin="${TOOLS_BIN:-$root/.tools/bin}"
log() { echo "tools-kube: $*" >&2; }

ver=$(sed -n 's#^[[:space:]]*k8s.io/kubernetes \(v[0-9][0-9.]*\).*#\1#p' "$mod/go.mod" | head -n1)
[ -n "$ver" ] || { log "cannot read the k8s.io/kubernetes version from $mod/go.mod"; exit 1; }
out="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools/kube-$ver"
cmds="kube-apiserver kube-controller-manager kubectl"
mkdir -p "$bin" "$out"

missing=""
for c in $cmds; do [ -x "$out/$c" ] || missing="$missing $c"; done
if [ -n "$missing" ]; then
  command -v go >/dev/null || { log "Go (>= 1.24) is needed to build$missing"; exit 1; }
  minor=${ver#v1.}; minor=${minor%%.*}
  # The version variables Kubernetes' own build sets (hack/lib/version.sh): component-base's are what
  # `kubectl version` and the apiserver's /version report; client-go's feed the default User-Agent.
  date=$(cd "$mod" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    [ -z "$date" ] || ldflags="$ldflags -X $p.buildDate=$date"
  done
  for c in $missing; do
    log "building $c $ver into $out (first time only; minutes, at nice 19)"
    start=$(date +%s)
    (cd "$mod" && nice -n 19 go build -p "${KUBE_BUILD_P:-1}" -trimpath -ldflags "$ldflags" \
      -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv -f "$out/$c.tmp" "$out/$c"
    log "built $c in $(( $(date +%s) - start )) s ($(( $(stat -c %s "$out/$c") / 1048576 )) MiB)"
  done
fi
for c in $cmds; do ln -sfn "$out/$c" "$bin/$c"; done

# etcd: etcd on PATH (resolved, so a link of ours is fine), else Debian's etcd-server (3.4; fine for tests).
etcd=""
if p=$(command -v etcd 2>/dev/null); then etcd=$(readlink -f "$p"); [ -x "$etcd" ] || etcd=""; fi
if [ -z "$etcd" ] && [ -x /usr/bin/etcd ]; then etcd=/usr/bin/etcd; fi
if [ -z "$etcd" ]; then
  if [ "$(id -u)" != 0 ]; then log "no etcd: install Debian's etcd-server (or put etcd on PATH)"; exit 1; fi
  log "installing Debian's etcd-server"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >&2
  etcd=/usr/bin/etcd
fi
ln -sfn "$etcd" "$bin/etcd"
log "ready in $bin: kube $ver ($cmds), etcd $("$etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
