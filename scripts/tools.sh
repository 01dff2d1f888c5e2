#!/usr/bin/env bash
# `make tools`: provides the test infrastructure in .tools/bin, idempotently.
# Reuses what is already on PATH; builds the rest into ${XDG_CACHE_HOME:-~/.cache}/wacloud/tools/<name>-<version>
# (outside the clone, so fresh clones on this machine reuse it) and links it into .tools/bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wacloud/tools"
bin="$root/.tools/bin"
mkdir -p "$bin" "$cache"
log() { echo "tools: $*" >&2; }

apt_install() { # apt_install <package>... (root only; apt-get update once)
  if [ "$(id -u)" != 0 ]; then log "not root: install $* yourself"; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Chromium: CHROMIUM_PATH, else chromium on PATH, else Debian's package.
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
  chromium="$CHROMIUM_PATH"
elif command -v chromium >/dev/null; then
  chromium=$(command -v chromium)
else
  log "installing Debian's chromium"; apt_install chromium fonts-liberation
  chromium=/usr/bin/chromium
fi
ln -sfn "$chromium" "$bin/chromium"

# MongoDB-wire server: mongod on PATH is used as is by the test environment; otherwise build FerretDB
# (embedded in tools/ferretdb; SQLite or PostgreSQL backend) from the Go module proxy, with wacloud's pushdown patch
# (tools/ferretdb/wacloud-pushdown.patch, applied to a copy of the module's source; docs/embedded-database.md).
if command -v mongod >/dev/null; then
  ln -sfn "$(command -v mongod)" "$bin/mongod"
else
  ver=$(sed -n 's/.*github.com\/FerretDB\/FerretDB \(v[0-9.]*\).*/\1/p' "$root/tools/ferretdb/go.mod")
  src=$(cat "$root/tools/ferretdb/main.go" "$root/tools/ferretdb/go.mod" "$root/tools/ferretdb/wacloud-pushdown.patch" | sha256sum | cut -c1-12) # rebuilt when our main or patch changes
  out="$cache/ferretdb-$ver-$src/wacloud-ferretdb"
  if [ ! -x "$out" ]; then
    command -v go >/dev/null || { log "Go is needed to build FerretDB (or put mongod on PATH)"; exit 1; }
    log "building FerretDB $ver with wacloud-pushdown.patch (first time only; a few minutes at nice 19)"
    work="$cache/ferretdb-$ver-$src/build"
    rm -rf "$work" && mkdir -p "$work/main"
    mod=$(cd "$root/tools/ferretdb" && go mod download -json "github.com/FerretDB/FerretDB@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$mod" ] || { log "cannot download github.com/FerretDB/FerretDB@$ver"; exit 1; }
    cp -r "$mod" "$work/FerretDB" && chmod -R u+w "$work/FerretDB"
    patch -s -p1 -d "$work/FerretDB" <"$root/tools/ferretdb/wacloud-pushdown.patch"
    cp "$root/tools/ferretdb/main.go" "$root/tools/ferretdb/go.mod" "$root/tools/ferretdb/go.sum" "$work/main/"
    (cd "$work/main" && go mod edit -replace "github.com/FerretDB/FerretDB=$work/FerretDB" &&
      GOFLAGS=-mod=mod nice -n 19 go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out")
    rm -rf "$work"
  fi
  ln -sfn "$out" "$bin/wacloud-ferretdb"
fi

# PostgreSQL (Debian's): the server behind FerretDB for make start, the tests and per-database authorisation (FerretDB on
# PostgreSQL uses PostgreSQL's roles and grants). Its initdb and postgres are linked into .tools/bin.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  log "installing Debian's postgresql"; apt_install postgresql || true
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
if [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; then
  ln -sfn "$pg_bin/initdb" "$bin/initdb"
  ln -sfn "$pg_bin/postgres" "$bin/postgres"
fi

# Helm: built once from the Go module proxy with the ldflags of Helm's own Makefile (without them `helm version`
# says v3.19 and the default Kubernetes version of `helm template`/`helm lint` is 1.20, which fails the chart's
# kubeVersion), then linked into .tools/bin.
helm_ver=v3.19.0
helm_k8s_minor=34 # k8s.io/client-go v0.34 in helm v3.19.0's go.mod
helm_out="$cache/helm-$helm_ver"
if [ "$("$helm_out/helm" version --template '{{.Version}}' 2>/dev/null || true)" != "$helm_ver" ]; then
  command -v go >/dev/null || { log "Go is needed to build helm $helm_ver"; exit 1; }
  log "building helm $helm_ver into $helm_out (first time only; at nice 19)"
  mkdir -p "$helm_out"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_ver -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags="$helm_ldflags -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$helm_k8s_minor"
  done
  GOBIN="$helm_out" GOFLAGS=-p=1 nice -n 19 go install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$helm_ver"
fi
ln -sfn "$helm_out/helm" "$bin/helm"

# Docker engine for the image and docker-provider tests: Debian's docker.io (dockerd, containerd, runc, the 20.10
# client with the legacy builder) and debootstrap (the test environment builds local stand-ins of the base images:
# no registry is reachable). Not root and no dockerd: those tests say so and skip.
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || [ ! -x /usr/bin/docker ]; then
  log "installing Debian's docker.io and debootstrap"; apt_install docker.io debootstrap iptables || true
fi

# Prometheus for the cluster suite's monitoring tests (charts/test/monitoring.ts; the test starts its own server):
# promtool is Debian's (2.42; the package's service is never started: policy-rc.d / no init in CI containers). Debian
# removed Kubernetes service discovery from its server (NEWS.Debian, 1.5.0+ds-1), so the server of the same version is
# built once from its Go module (tools/prometheus/go.mod: the module's replace directives) into the cache.
if [ ! -x /usr/bin/promtool ]; then
  log "installing Debian's prometheus (promtool)"; apt_install prometheus || true
fi
if [ -x /usr/bin/promtool ]; then ln -sfn /usr/bin/promtool "$bin/promtool"; fi
prom_ver=$(sed -n 's/^\(require \)\{0,1\}[[:space:]]*github.com\/prometheus\/prometheus v0\.\([0-9]*\)\.\([0-9]*\).*/2.\2.\3/p' "$root/tools/prometheus/go.mod" | head -n1)
prom_out="$cache/prometheus-v$prom_ver"
if [ ! -x "$prom_out/prometheus" ]; then
  command -v go >/dev/null || { log "Go is needed to build Prometheus $prom_ver"; exit 1; }
  log "building Prometheus $prom_ver into $prom_out (first time only; minutes, at nice 19)"
  mkdir -p "$prom_out"
  (cd "$root/tools/prometheus" && GOFLAGS=-mod=mod nice -n 19 go build -p "${KUBE_BUILD_P:-1}" -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$prom_ver" \
    -o "$prom_out/prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus) && mv -f "$prom_out/prometheus.tmp" "$prom_out/prometheus"
fi
ln -sfn "$prom_out/prometheus" "$bin/prometheus"

# Docker Compose v2 for the compose tests; builds once into the cache.
TOOLS_BIN="$bin" bash "$root/scripts/tools-compose.sh"

# Schemathesis, the OpenAPI fuzzer (a pinned PyPI release in a virtualenv in the cache; Python serves test tooling only).
TOOLS_BIN="$bin" bash "$root/scripts/tools-schemathesis.sh"

# Kubernetes test control plane (etcd, kube-apiserver, kube-controller-manager, kubectl); builds once into the cache.
TOOLS_BIN="$bin" bash "$root/scripts/tools-kube.sh"
# Its node for the cluster tests (kubelet, kube-proxy, kube-scheduler, CoreDNS, containerd, CNI plugins).
TOOLS_BIN="$bin" bash "$root/scripts/tools-node.sh"
log "ready: $(ls "$bin" | tr '\n' ' ')"
