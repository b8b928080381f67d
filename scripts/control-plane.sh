#!/usr/bin/env bash
# The local control plane: etcd + kube-apiserver + kube-controller-manager on
# 127.0.0.1, with the CRDs installed, and the provider servers beside it
# (scripts/providers.sh). Used by `make dev-up`, the tests and the
# benchmark. State lives in $SECRETSYNC_STATE (default .dev/).
#   control-plane.sh up                 start (idempotent), install CRDs, write kubeconfig + env
#   control-plane.sh down               stop everything and remove the state
#   control-plane.sh restart-apiserver  stop and start kube-apiserver only (fault tests)
#   control-plane.sh stop-etcd | start-etcd   take etcd away and bring it back (fault tests)
#   control-plane.sh status             exit 0 when the apiserver answers
source "$(dirname "$0")/lib.sh"

ETCD_PORT=$((BASE + 0))
ETCD_PEER_PORT=$((BASE + 1))
API_PORT=$((BASE + 3))
KUBECONFIG_FILE="$STATE/kubeconfig"
OPERATOR_NAMESPACE=secretsync-system

api_ready() {
  curl -sfk --max-time 2 -H "Authorization: Bearer $(cat "$STATE/admin-token")" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}

start_etcd() {
  alive etcd && return 0
  "$ETCD_BIN/etcd" --name default --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn \
    --quota-backend-bytes 8589934592 \
    >"$STATE/etcd.log" 2>&1 &
  echo $! >"$STATE/etcd.pid"
  wait_for etcd 150 curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  alive kube-apiserver && return 0
  "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --cert-dir "$STATE/certs" \
    --secure-port "$API_PORT" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --service-cluster-ip-range 10.0.0.0/24 --authorization-mode RBAC --allow-privileged=true \
    --disable-admission-plugins ServiceAccount \
    --service-account-issuer "https://127.0.0.1:$API_PORT" \
    --service-account-key-file "$STATE/sa.pub" --service-account-signing-key-file "$STATE/sa.key" \
    --api-audiences "https://127.0.0.1:$API_PORT,secretsync" \
    --token-auth-file "$STATE/tokens.csv" \
    --max-requests-inflight 1000 --max-mutating-requests-inflight 500 \
    >"$STATE/kube-apiserver.log" 2>&1 &
  echo $! >"$STATE/kube-apiserver.pid"
  wait_for kube-apiserver 600 api_ready
}

start_controller_manager() {
  alive kube-controller-manager && return 0
  "$KUBE_BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --controllers garbagecollector,namespace,serviceaccount \
    --secure-port 0 --leader-elect=false --concurrent-gc-syncs 5 \
    >"$STATE/kube-controller-manager.log" 2>&1 &
  echo $! >"$STATE/kube-controller-manager.pid"
}

write_kubeconfig() {
  local ca; ca=$(base64 -w0 "$STATE/certs/apiserver.crt")
  cat >"$KUBECONFIG_FILE" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: { server: "https://127.0.0.1:$API_PORT", certificate-authority-data: "$ca" }
users:
  - name: admin
    user: { token: "$(cat "$STATE/admin-token")" }
contexts:
  - name: local
    context: { cluster: local, user: admin }
current-context: local
KC
  cat >"$STATE/env" <<ENV
export KUBECONFIG="$KUBECONFIG_FILE"
export PATH="$KUBE_BIN:$HELM_BIN:$NODE_HOME/bin:\$PATH"
ENV
}

up() {
  bash "$ROOT/scripts/install-control-plane.sh"
  mkdir -p "$STATE/certs"
  if [ ! -f "$STATE/sa.key" ]; then
    openssl genrsa -out "$STATE/sa.key" 2048 2>/dev/null
    openssl rsa -in "$STATE/sa.key" -pubout -out "$STATE/sa.pub" 2>/dev/null
    head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$STATE/admin-token"
    echo "$(cat "$STATE/admin-token"),admin,admin,\"system:masters\"" >"$STATE/tokens.csv"
  fi
  start_etcd
  start_apiserver
  write_kubeconfig
  local kubectl=("$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE")
  "${kubectl[@]}" apply --server-side --force-conflicts -k "$ROOT/crds" >/dev/null
  "${kubectl[@]}" wait --for condition=Established --timeout 60s \
    crd/externalsecrets.secretsync.dev crd/secretstores.secretsync.dev crd/clustersecretstores.secretsync.dev >/dev/null
  # After the CRDs, so the garbage collector discovers them at start rather
  # than at its next periodic discovery (up to 30 s later).
  start_controller_manager
  "${kubectl[@]}" create namespace "$OPERATOR_NAMESPACE" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
  bash "$ROOT/scripts/providers.sh" up
  log "control plane up: KUBECONFIG=$KUBECONFIG_FILE (source $STATE/env)"
}

down() {
  bash "$ROOT/scripts/providers.sh" down
  stop_one kube-controller-manager
  stop_one kube-apiserver
  stop_one etcd
  rm -rf "$STATE"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart-apiserver) stop_one kube-apiserver; start_apiserver ;;
  stop-etcd) stop_one etcd ;;
  start-etcd) start_etcd ;;
  status) api_ready ;;
  *) echo "usage: $0 up|down|restart-apiserver|stop-etcd|start-etcd|status" >&2; exit 2 ;;
esac
