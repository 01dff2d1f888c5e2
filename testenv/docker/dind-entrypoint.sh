#!/bin/bash
# Stand-in for the official dind image's dockerd-entrypoint.sh (see dind.Dockerfile): with DOCKER_TLS_CERTDIR set,
# makes a CA, a server certificate (SANs: this container's addresses, its host name, `docker`, `localhost` and
# DOCKER_TLS_SAN) and a client certificate once, then runs dockerd with --tlsverify on :2376; without it, plain :2375.
set -euo pipefail
args=(--host=unix:///var/run/docker.sock)
certs=${DOCKER_TLS_CERTDIR:-}
if [ -n "$certs" ]; then
  mkdir -p "$certs/ca" "$certs/server" "$certs/client"
  cd "$certs"
  [ -s ca/key.pem ] || openssl genrsa -out ca/key.pem 2048 2>/dev/null
  [ -s ca/cert.pem ] || openssl req -new -x509 -days 825 -key ca/key.pem -subj "/CN=docker:dind CA" -out ca/cert.pem
  san=$({
    ip -oneline address | awk '{ gsub(/\/.+$/, "", $4); print "IP:" $4 }'
    printf 'DNS:%s\n' "$(hostname)" docker localhost
    [ -z "${DOCKER_TLS_SAN:-}" ] || echo "$DOCKER_TLS_SAN"
  } | sort -u | paste -sd, -)
  sign() { # sign <dir> <CN> <extendedKeyUsage> [subjectAltName]
    [ -s "$1/key.pem" ] || openssl genrsa -out "$1/key.pem" 2048 2>/dev/null
    openssl req -new -key "$1/key.pem" -subj "/CN=$2" -out "$1/csr.pem"
    { echo "extendedKeyUsage = $3"; [ -z "${4:-}" ] || echo "subjectAltName = $4"; } > "$1/openssl.cnf"
    openssl x509 -req -in "$1/csr.pem" -CA ca/cert.pem -CAkey ca/key.pem -CAcreateserial -days 825 \
      -extfile "$1/openssl.cnf" -out "$1/cert.pem" 2>/dev/null
    cp ca/cert.pem "$1/ca.pem"
    rm -f "$1/csr.pem" "$1/openssl.cnf"
  }
  sign server docker:dind serverAuth "$san"
  [ -s client/cert.pem ] || sign client docker:dind-client clientAuth
  chmod 0644 client/key.pem
  args+=(--host=tcp://0.0.0.0:2376 --tlsverify --tlscacert "$certs/server/ca.pem" --tlscert "$certs/server/cert.pem"
    --tlskey "$certs/server/key.pem")
else
  args+=(--host=tcp://0.0.0.0:2375)
fi
# Not the official image's: a container started without --privileged (a test daemon that cannot grant every
# capability; the test then adds the ones it can, with a private cgroup namespace) has its cgroup v1 hierarchies
# mounted read-only; mount them again read-write so that dockerd can make its containers' groups.
for m in $(awk '$2 ~ /^\/sys\/fs\/cgroup\// && $3 == "cgroup" && $4 ~ /(^|,)ro(,|$)/ {print $2}' /proc/mounts); do
  o=$(basename "$m"); [ "$o" = systemd ] && o=none,name=systemd
  umount "$m" && mount -t cgroup -o "rw,nosuid,nodev,noexec,$o" cgroup "$m"
done
# cgroup v2: move this container's processes into a child group so that dockerd may delegate controllers.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control || :
fi
mountpoint -q /sys/kernel/security 2>/dev/null || mount -t securityfs none /sys/kernel/security 2>/dev/null || :
# As the official entrypoint: a pid file left by a daemon that was killed would stop this one from starting.
find /run /var/run -iname 'docker*.pid' -delete || :
exec dockerd "${args[@]}" "$@"
