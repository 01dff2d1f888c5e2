#!/usr/bin/env bash
# Smoke test of the envtest-style control plane: etcd + kube-apiserver + kube-controller-manager on loopback,
# with the flags documented in README.md. Uses $TOOLS_BIN (default <repo>/.tools/bin, filled by
# scripts/tools-kube.sh). Everything lives in a temp dir and every process is stopped on exit.
# AUTH=cert (default): own CA (openssl) signs the serving cert and an admin client cert (O=system:masters).
# AUTH=token: no openssl at all: the apiserver makes a self-signed serving cert in --cert-dir, the admin is a static
#   token (--token-auth-file), the service-account key pair comes from Node's crypto (what a TS harness can do).
# KEEP=1 leaves the temp dir (logs) in place; HOLD=N keeps the control plane up N more seconds at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="${TOOLS_BIN:-$root/.tools/bin}"
d=$(mktemp -d /tmp/kube-smoke.XXXXXX)
pids=()
cleanup() { # reverse start order: controller-manager, apiserver, then etcd
  local i t0; t0=$(date +%s.%N)
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  echo "smoke: stopped ${#pids[@]} processes in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s" >&2
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $d" >&2; else rm -rf "$d"; fi
}
trap cleanup EXIT
log() { echo "smoke: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for <seconds> <command...>
  local t=$1; shift; local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.1; done
}

auth=${AUTH:-cert}
pki="$d/pki"; mkdir -p "$pki"
if [ "$auth" = cert ]; then
  # --- PKI: one CA signs the serving cert and the admin client cert (O=system:masters); RSA key for SA tokens.
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj /CN=wacloud-test-ca
    openssl req -x509 -newkey rsa:2048 -nodes -keyout serving.key -out serving.crt -days 3650 -CA ca.crt \
      -CAkey ca.key -subj /CN=kube-apiserver -addext subjectAltName=IP:127.0.0.1,DNS:localhost
    openssl req -x509 -newkey rsa:2048 -nodes -keyout admin.key -out admin.crt -days 3650 -CA ca.crt \
      -CAkey ca.key -subj "/O=system:masters/CN=admin"
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
  ) 2>/dev/null
else
  # Static token for the admin (token,user,uid,"group1,group2"); SA key pair in PKCS#8/SPKI PEM from Node.
  echo "admin-token,admin,admin,system:masters" >"$pki/tokens.csv"
  node -e '
    const { generateKeyPairSync } = require("crypto"); const fs = require("fs");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    fs.writeFileSync(process.argv[1] + "/sa.key", privateKey); fs.writeFileSync(process.argv[1] + "/sa.pub", publicKey);
  ' "$pki"
fi

ep=$(freeport); epp=$(freeport); ap=$(freeport); kp=$(freeport)
kubeconfig="$d/admin.kubeconfig"
if [ "$auth" = cert ]; then
  cluster="certificate-authority: \"$pki/ca.crt\""
  user="{client-certificate: \"$pki/admin.crt\", client-key: \"$pki/admin.key\"}"
  apiserver_auth=(--tls-cert-file "$pki/serving.crt" --tls-private-key-file "$pki/serving.key"
    --client-ca-file "$pki/ca.crt")
  kcm_auth=(--root-ca-file "$pki/ca.crt")
else
  # The self-signed apiserver.crt written into --cert-dir is cert + its own CA: usable as certificate-authority
  # once the apiserver has started (kubectl reads the file per call).
  cluster="certificate-authority: \"$d/apiserver-certs/apiserver.crt\""
  user="{token: admin-token}"
  apiserver_auth=(--token-auth-file "$pki/tokens.csv")
  kcm_auth=()
fi
cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$ap", $cluster}
users:
- name: admin
  user: $user
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
EOF
k() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# --- etcd
t=$(now)
"$bin/etcd" --data-dir "$d/etcd" --listen-client-urls "http://127.0.0.1:$ep" \
  --advertise-client-urls "http://127.0.0.1:$ep" --listen-peer-urls "http://127.0.0.1:$epp" \
  --initial-advertise-peer-urls "http://127.0.0.1:$epp" --initial-cluster "default=http://127.0.0.1:$epp" \
  --unsafe-no-fsync >"$d/etcd.log" 2>&1 &
pids+=($!)
wait_for 20 curl -sf "http://127.0.0.1:$ep/health" || { log "etcd did not start"; tail "$d/etcd.log" >&2; exit 1; }
log "etcd up in $(since "$t") s (client port $ep)"

# --- kube-apiserver (controller-runtime envtest's defaults)
t=$(now)
"$bin/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ep" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$ap" \
  --cert-dir "$d/apiserver-certs" \
  "${apiserver_auth[@]}" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --authorization-mode RBAC \
  --service-account-issuer "https://127.0.0.1:$ap/" \
  --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" \
  --allow-privileged=true \
  --disable-admission-plugins ServiceAccount \
  >"$d/kube-apiserver.log" 2>&1 &
pids+=($!)
wait_for 60 k get --raw /readyz || { log "kube-apiserver not ready"; tail -30 "$d/kube-apiserver.log" >&2; exit 1; }
log "kube-apiserver ready in $(since "$t") s (port $ap)"
k version >&2
k get ns >&2

# --- kube-controller-manager
t=$(now)
"$bin/kube-controller-manager" \
  --kubeconfig "$kubeconfig" \
  --authentication-kubeconfig "$kubeconfig" --authorization-kubeconfig "$kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$kp" \
  --controllers '*' \
  --service-account-private-key-file "$pki/sa.key" \
  "${kcm_auth[@]}" \
  --use-service-account-credentials=true \
  --leader-elect=false \
  --authentication-skip-lookup=true \
  --flex-volume-plugin-dir "$d/flexvolume" \
  >"$d/kube-controller-manager.log" 2>&1 &
pids+=($!)
wait_for 60 curl -skf "https://127.0.0.1:$kp/healthz" || { log "kube-controller-manager not healthy"; tail -30 "$d/kube-controller-manager.log" >&2; exit 1; }
log "kube-controller-manager healthy in $(since "$t") s (port $kp)"

# --- controllers at work: serviceaccount, garbagecollector, statefulset
k create ns smoke >&2
wait_for 30 k -n smoke get sa default || { log "no default ServiceAccount"; exit 1; }
log "serviceaccount controller: default SA created"
k -n smoke create configmap owner >&2
uid=$(k -n smoke get configmap owner -o jsonpath='{.metadata.uid}')
k -n smoke apply -f - >&2 <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: "$uid"}]
EOF
k -n smoke delete configmap owner >&2
t=$(now)
wait_for 60 sh -c "! '$bin/kubectl' --kubeconfig '$kubeconfig' -n smoke get configmap dependent" \
  || { log "garbage collector did not delete the dependent"; exit 1; }
log "garbagecollector: dependent deleted $(since "$t") s after its owner"
k -n smoke apply -f - >&2 <<EOF
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: example.invalid/none}]}
EOF
wait_for 30 k -n smoke get pod web-0 || { log "statefulset controller created no pod"; exit 1; }
log "statefulset: pod web-0 created (Pending forever: no scheduler/kubelet)"
k -n smoke delete statefulset web --wait=false >&2
wait_for 30 sh -c "! '$bin/kubectl' --kubeconfig '$kubeconfig' -n smoke get pod web-0" \
  || { log "pod web-0 was not garbage-collected"; exit 1; }
log "pod web-0 garbage-collected after its StatefulSet was deleted"
log "OK (AUTH=$auth)"
if [ -n "${HOLD:-}" ]; then log "holding ${HOLD} s: pids ${pids[*]}, kubeconfig $kubeconfig"; sleep "$HOLD"; fi
