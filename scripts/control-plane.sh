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
# For a control plane with a node (scripts/node-cluster.sh runs this inside the
# node's network namespace): CP_ADDRESS is the address the API server binds,
# advertises and is reached at (default 127.0.0.1), CP_SERVICE_CIDR the Service
# range, CP_WITH_NODE=1 adds what Pods need (ServiceAccount admission, the
# scheduler, the Deployment, ReplicaSet, disruption, node lifecycle and
# endpoints controllers, kube-root-ca.crt), and
# CP_PROVIDERS=0 leaves the provider servers out.
source "$(dirname "$0")/lib.sh"

ETCD_PORT=$((BASE + 0))
ETCD_PEER_PORT=$((BASE + 1))
API_PORT=$((BASE + 3))
KUBECONFIG_FILE="$STATE/kubeconfig"
OPERATOR_NAMESPACE=secretsync-system
ADDRESS="${CP_ADDRESS:-127.0.0.1}"
SERVICE_CIDR="${CP_SERVICE_CIDR:-10.0.0.0/24}"
WITH_NODE="${CP_WITH_NODE:-0}"

api_ready() {
  curl -sfk --max-time 2 -H "Authorization: Bearer $(cat "$STATE/admin-token")" "https://$ADDRESS:$API_PORT/readyz" >/dev/null 2>&1
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
  # Without a node no Pod runs, and the ServiceAccount admission would only
  # wait for ServiceAccounts; with one, it mounts the projected token, and the
  # kubelet (logs, exec) is reached at the node's address, not a DNS name.
  local admission=(--disable-admission-plugins ServiceAccount)
  [ "$WITH_NODE" = 1 ] && admission=(--kubelet-preferred-address-types InternalIP
    --kubelet-client-certificate "$STATE/certs/kubelet-client.crt" --kubelet-client-key "$STATE/certs/kubelet-client.key")
  "$CP_KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --cert-dir "$STATE/certs" \
    --secure-port "$API_PORT" --bind-address "$ADDRESS" --advertise-address "$ADDRESS" \
    --service-cluster-ip-range "$SERVICE_CIDR" --authorization-mode RBAC --allow-privileged=true \
    "${admission[@]}" \
    --service-account-issuer "https://$ADDRESS:$API_PORT" \
    --service-account-key-file "$STATE/sa.pub" --service-account-signing-key-file "$STATE/sa.key" \
    --api-audiences "https://$ADDRESS:$API_PORT,secretsync" \
    --token-auth-file "$STATE/tokens.csv" --client-ca-file "$STATE/certs/client-ca.crt" \
    --max-requests-inflight 1000 --max-mutating-requests-inflight 500 \
    >"$STATE/kube-apiserver.log" 2>&1 &
  echo $! >"$STATE/kube-apiserver.pid"
  wait_for kube-apiserver 600 api_ready
}

start_controller_manager() {
  alive kube-controller-manager && return 0
  local controllers=garbagecollector,namespace,serviceaccount node=()
  [ "$WITH_NODE" = 1 ] && controllers+=,deployment,replicaset,daemonset,disruption,node-lifecycle-controller,endpoints-controller,endpointslice-controller,root-ca-certificate-publisher-controller \
    && node=(--root-ca-file "$STATE/certs/apiserver.crt")
  "$CP_KUBE_BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --controllers "$controllers" "${node[@]}" \
    --secure-port 0 --leader-elect=false --concurrent-gc-syncs 5 \
    >"$STATE/kube-controller-manager.log" 2>&1 &
  echo $! >"$STATE/kube-controller-manager.pid"
}

start_scheduler() {
  alive kube-scheduler && return 0
  "$KUBE_NODE_BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" --authentication-kubeconfig "$KUBECONFIG_FILE" \
    --authorization-kubeconfig "$KUBECONFIG_FILE" --leader-elect=false --secure-port 0 \
    >"$STATE/kube-scheduler.log" 2>&1 &
  echo $! >"$STATE/kube-scheduler.pid"
}

# The API server's client certificate for kubelets (logs, exec, stats), and the
# CA a kubelet verifies it with (its authentication.x509.clientCAFile).
kubelet_client_cert() {
  [ -f "$STATE/certs/kubelet-client.crt" ] && return 0
  local c="$STATE/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kubelet-client-ca \
    -keyout "$c/kubelet-client-ca.key" -out "$c/kubelet-client-ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
    -keyout "$c/kubelet-client.key" -out "$c/kubelet-client.csr" 2>/dev/null
  openssl x509 -req -in "$c/kubelet-client.csr" -CA "$c/kubelet-client-ca.crt" -CAkey "$c/kubelet-client-ca.key" \
    -CAcreateserial -days 2 -out "$c/kubelet-client.crt" 2>/dev/null
}

# A CA the API server trusts for client certificates (--client-ca-file): tests
# sign users' certificates with it (the kubernetes provider's cert auth).
client_ca() {
  [ -f "$STATE/certs/client-ca.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=secretsync-test-client-ca \
    -keyout "$STATE/certs/client-ca.key" -out "$STATE/certs/client-ca.crt" 2>/dev/null
}

write_kubeconfig() {
  local ca; ca=$(base64 -w0 "$STATE/certs/apiserver.crt")
  cat >"$KUBECONFIG_FILE" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: { server: "https://$ADDRESS:$API_PORT", certificate-authority-data: "$ca" }
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
  [ "$WITH_NODE" = 1 ] && kubelet_client_cert
  client_ca
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
  [ "$WITH_NODE" = 1 ] && start_scheduler
  "${kubectl[@]}" create namespace "$OPERATOR_NAMESPACE" --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
  [ "${CP_PROVIDERS:-1}" = 1 ] && bash "$ROOT/scripts/providers.sh" up
  local version
  version=$(curl -sfk --max-time 5 -H "Authorization: Bearer $(cat "$STATE/admin-token")" "https://$ADDRESS:$API_PORT/version" | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
  log "control plane up (kube-apiserver ${version:-unknown}): KUBECONFIG=$KUBECONFIG_FILE (source $STATE/env)"
}

down() {
  bash "$ROOT/scripts/providers.sh" down
  stop_one kube-scheduler
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
