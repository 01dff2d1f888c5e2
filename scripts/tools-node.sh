#!/usr/bin/env bash
# The node of the test cluster (testenv/src/cluster.ts): links kubelet, kube-proxy, kube-scheduler, coredns and
# wacloud-pause into $TOOLS_BIN (default <repo>/.tools/bin), idempotently, and installs Debian's containerd + runc,
# containernetworking-plugins and conntrack (root only).
# kubelet, kube-proxy and kube-scheduler are built once from the k8s.io/kubernetes module pinned in tools/node/go.mod
# (the same version as tools/kube) into ${XDG_CACHE_HOME:-~/.cache}/wacloud/tools/node-<version>/; CoreDNS from its
# Go module into .../coredns-<version>/; the pod sandbox's pause (tools/node/pause) next to the Kubernetes binaries.
# Env: TOOLS_BIN, KUBE_BUILD_P (go build -p, default 1; the builds run at nice 19).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/tools/node"
bin="${TOOLS_BIN:-$root/.tools/bin}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools"
log() { echo "tools-node: $*" >&2; }
mkdir -p "$bin"

# Debian packages: containerd (CRI plugin built in) + runc, the CNI plugins, conntrack (kube-proxy).
pkgs=""
command -v containerd >/dev/null || pkgs="$pkgs containerd"
command -v runc >/dev/null || pkgs="$pkgs runc"
[ -x /usr/lib/cni/bridge ] || pkgs="$pkgs containernetworking-plugins"
command -v conntrack >/dev/null || pkgs="$pkgs conntrack"
command -v iptables >/dev/null || pkgs="$pkgs iptables"
if [ -n "$pkgs" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "not root: install$pkgs yourself (the cluster tests need root anyway)"
  else
    log "installing Debian's$pkgs"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >&2
  fi
fi

ver=$(sed -n 's#^[[:space:]]*k8s.io/kubernetes \(v[0-9][0-9.]*\).*#\1#p' "$mod/go.mod" | head -n1)
[ -n "$ver" ] || { log "cannot read the k8s.io/kubernetes version from $mod/go.mod"; exit 1; }
out="$cache/node-$ver"
mkdir -p "$out"
cmds="kube-scheduler kube-proxy kubelet"
for c in $cmds; do
  [ -x "$out/$c" ] && continue
  command -v go >/dev/null || { log "Go (>= 1.24) is needed to build $c"; exit 1; }
  minor=${ver#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitVersion=$ver -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  log "building $c $ver into $out (first time only; minutes, at nice 19)"
  start=$(date +%s)
  (cd "$mod" && nice -n 19 go build -p "${KUBE_BUILD_P:-1}" -trimpath -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv -f "$out/$c.tmp" "$out/$c"
  log "built $c in $(( $(date +%s) - start )) s"
done
for c in $cmds; do ln -sfn "$out/$c" "$bin/$c"; done

# The pod sandbox image's binary (static; tools-node builds it whenever its source changed).
pause_sum=$(sha256sum "$mod/pause/main.go" | cut -c1-12)
pause="$out/wacloud-pause-$pause_sum"
if [ ! -x "$pause" ]; then
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$pause.tmp" ./pause) && mv -f "$pause.tmp" "$pause"
fi
ln -sfn "$pause" "$bin/wacloud-pause"

# CoreDNS (no replace directives in its go.mod: a plain go install).
coredns_ver=v1.12.1
coredns_out="$cache/coredns-$coredns_ver"
if [ ! -x "$coredns_out/coredns" ]; then
  command -v go >/dev/null || { log "Go is needed to build CoreDNS $coredns_ver"; exit 1; }
  log "building CoreDNS $coredns_ver into $coredns_out (first time only; at nice 19)"
  mkdir -p "$coredns_out"
  CGO_ENABLED=0 GOBIN="$coredns_out" GOFLAGS=-p=${KUBE_BUILD_P:-1} nice -n 19 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$coredns_ver"
fi
ln -sfn "$coredns_out/coredns" "$bin/coredns"
log "ready in $bin: $cmds (kube $ver), coredns $coredns_ver, wacloud-pause; containerd $(containerd --version 2>/dev/null | awk '{print $3}')"
