#!/usr/bin/env bash
# A one-node Kubernetes cluster on this machine, for the tests that run the
# chart's Pods as users run them (test/e2e). Everything lives in a network
# namespace of its own, joined to the host by one veth pair:
#   host  secretsync-h  10.213.0.1/24  <->  eth0  10.213.0.2/24  netns secretsync-node
# Inside the namespace: etcd, kube-apiserver (bound to the node address, so the
# `kubernetes` Service has a real endpoint), the controller manager and the
# scheduler (scripts/control-plane.sh with CP_WITH_NODE=1), containerd + runc,
# kubelet, kube-proxy (iptables mode), a CNI bridge (cni0, Pods in
# 10.244.0.0/24), and OpenBao and moto on the node address. Pods reach the API
# server the way they do in any cluster: KUBERNETES_SERVICE_HOST is the
# Service's ClusterIP, which kube-proxy sends to the API server. The host (the
# tests) reaches the API server and the provider servers at 10.213.0.2. No
# traffic leaves the namespace and the host's loopback: the namespace has no
# default route and the host does not forward.
# Why not the shared test control plane: its API server listens on the host's
# 127.0.0.1, which a Pod cannot reach, and a loopback address is not a valid
# Service endpoint.
#   node-cluster.sh up | down | status
# State: $SECRETSYNC_NODE_STATE (default .node-cluster/); sockets, containerd's
# and kubelet's data under /run/secretsync-node and /var/lib/secretsync-node.
source "$(dirname "$0")/lib.sh"

STATE="${SECRETSYNC_NODE_STATE:-$ROOT/.node-cluster}"
NETNS=secretsync-node
NODE_NAME=secretsync-node
HOST_IF=secretsync-h
HOST_IP=10.213.0.1
NODE_IP=10.213.0.2
SERVICE_CIDR=10.96.0.0/24
POD_CIDR=10.244.0.0/24
BASE="${NODE_PORT_BASE:-46440}"
API_PORT=$((BASE + 3))
BAO_PORT=$((BASE + 10))
MOTO_PORT=$((BASE + 12))
RUN=/run/secretsync-node
DATA=/var/lib/secretsync-node
CGROUP_ROOT=secretsync-node
CTR=(ctr --address "$RUN/containerd.sock" --namespace k8s.io)
IMAGE_REF="${IMAGE_REF:-ghcr.io/secretsync/secretsync:dev}"
IMAGE_ARCHIVE="${IMAGE_ARCHIVE:-$ROOT/dist/image/secretsync.oci.tar}"
# nsenter, not `ip netns exec`: that also gives the process a mount namespace
# of its own with a fresh /sys (no cgroup mounts), and kubelet's volume mounts
# must be seen by containerd.
# An array, not a function: `cmd &` must leave the server's own pid in $!.
IN_NS=(nsenter --net="/run/netns/$NETNS" --)

network() {
  [ -e "/run/netns/$NETNS" ] && return 0
  ip netns add "$NETNS"
  ip link add "$HOST_IF" type veth peer name eth0 netns "$NETNS"
  ip addr add "$HOST_IP/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  "${IN_NS[@]}" ip link set lo up
  "${IN_NS[@]}" ip addr add "$NODE_IP/24" dev eth0
  "${IN_NS[@]}" ip link set eth0 up
  # Processes on the node (kubelet, hostNetwork Pods) reach ClusterIPs through
  # kube-proxy's OUTPUT rules, which apply only once a route exists.
  "${IN_NS[@]}" ip route add "$SERVICE_CIDR" dev eth0
  "${IN_NS[@]}" sysctl -qw net.ipv4.ip_forward=1
}

control_plane() {
  mkdir -p "$STATE"
  "${IN_NS[@]}" env SECRETSYNC_STATE="$STATE/cp" CP_PORT_BASE="$BASE" CP_ADDRESS="$NODE_IP" CP_SERVICE_CIDR="$SERVICE_CIDR" \
    CP_WITH_NODE=1 CP_PROVIDERS=0 bash "$ROOT/scripts/control-plane.sh" up
}

cgroups() {
  # kubelet's cgroupRoot must exist in every hierarchy; a v1 cpuset cgroup
  # takes no task until its cpus and mems are set.
  for controller in /sys/fs/cgroup/*/; do
    case "$controller" in */unified/) continue ;; esac
    mkdir -p "$controller$CGROUP_ROOT"
  done
  if [ -d /sys/fs/cgroup/cpuset ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CGROUP_ROOT/cpuset.cpus"
    cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CGROUP_ROOT/cpuset.mems"
  fi
}

start_containerd() {
  alive containerd && return 0
  mkdir -p "$RUN" "$DATA/containerd" "$STATE/cni"
  cat >"$STATE/cni/10-bridge.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "secretsync-node",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": "$DATA/cni" } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  cat >"$STATE/containerd.toml" <<TOML
version = 2
root = "$DATA/containerd"
state = "$RUN/containerd"
[grpc]
  address = "$RUN/containerd.sock"
[ttrpc]
  address = "$RUN/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower an
  # OOM score below containerd's own: clamp instead of failing every sandbox.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni"
TOML
  "${IN_NS[@]}" containerd --config "$STATE/containerd.toml" >"$STATE/containerd.log" 2>&1 &
  echo $! >"$STATE/containerd.pid"
  wait_for containerd 150 "${CTR[@]}" version
}

import_images() {
  # Pods pull nothing: the sandbox image and the operator's are imported.
  "${CTR[@]}" images import --all-platforms "$KUBE_NODE_BIN/pause.oci.tar" >/dev/null
  "${CTR[@]}" images import --all-platforms "$IMAGE_ARCHIVE" >/dev/null
  local images; images=$("${CTR[@]}" images ls -q)
  grep -qx "$IMAGE_REF" <<<"$images" || { log "image $IMAGE_REF not imported from $IMAGE_ARCHIVE"; exit 1; }
}

start_kubelet() {
  alive kubelet && return 0
  cat >"$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: $STATE/cp/certs/kubelet-client-ca.crt } }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$RUN/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
clusterDomain: cluster.local
resolvConf: ""
# Images are imported, never pulled: never collect them; and a full disk on a
# developer's machine must not evict the operator under test.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
# Status reports fast enough for tests that wait on them.
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
YAML
  "${IN_NS[@]}" "$KUBE_NODE_BIN/kubelet" --config "$STATE/kubelet.yaml" --kubeconfig "$STATE/cp/kubeconfig" \
    --root-dir "$DATA/kubelet" --cert-dir "$DATA/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    >"$STATE/kubelet.log" 2>&1 &
  echo $! >"$STATE/kubelet.pid"
}

start_kube_proxy() {
  alive kube-proxy && return 0
  # conntrack-max-per-core 0 leaves the machine-wide conntrack table alone.
  "${IN_NS[@]}" "$KUBE_NODE_BIN/kube-proxy" --kubeconfig "$STATE/cp/kubeconfig" --hostname-override "$NODE_NAME" \
    --proxy-mode iptables --cluster-cidr "$POD_CIDR" --conntrack-max-per-core 0 \
    --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 \
    >"$STATE/kube-proxy.log" 2>&1 &
  echo $! >"$STATE/kube-proxy.pid"
}

start_providers() {
  alive openbao || {
    "${IN_NS[@]}" "$OPENBAO_HOME/venv/bin/bao" server -dev -dev-root-token-id=root -dev-listen-address="$NODE_IP:$BAO_PORT" \
      >"$STATE/openbao.log" 2>&1 &
    echo $! >"$STATE/openbao.pid"
  }
  alive moto || {
    "${IN_NS[@]}" "$MOTO_HOME/venv/bin/moto_server" -H "$NODE_IP" -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
    echo $! >"$STATE/moto.pid"
  }
  wait_for openbao 150 curl -sf -o /dev/null "http://$NODE_IP:$BAO_PORT/v1/sys/health"
  wait_for moto 300 curl -sf -o /dev/null "http://$NODE_IP:$MOTO_PORT/moto-api/"
}

node_ready() {
  [ "$("$KUBE_BIN/kubectl" --kubeconfig "$STATE/cp/kubeconfig" get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

write_env() {
  cat >"$STATE/env" <<ENV
export KUBECONFIG="$STATE/cp/kubeconfig"
export PATH="$KUBE_BIN:$HELM_BIN:$NODE_HOME/bin:\$PATH"
export NODE_NAME="$NODE_NAME"
export NODE_IP="$NODE_IP"
export CONTAINERD_ADDRESS="$RUN/containerd.sock"
export RUNC_ROOT="$RUN/runc"
export CGROUP_ROOT="$CGROUP_ROOT"
export IMAGE_REF="$IMAGE_REF"
export VAULT_ADDR="http://$NODE_IP:$BAO_PORT"
export VAULT_TOKEN=root
export AWS_ENDPOINT_URL="http://$NODE_IP:$MOTO_PORT"
ENV
}

up() {
  [ "$(id -u)" = 0 ] || { log "the node needs root (network namespace, containerd, kubelet)"; exit 1; }
  bash "$ROOT/scripts/install-control-plane.sh"
  bash "$ROOT/scripts/install-kube-node.sh"
  bash "$ROOT/scripts/install-servers.sh"
  [ -f "$IMAGE_ARCHIVE" ] || { log "no image at $IMAGE_ARCHIVE: run make image"; exit 1; }
  network
  control_plane
  cgroups
  start_containerd
  import_images
  start_providers
  start_kube_proxy
  start_kubelet
  wait_for kubelet 600 node_ready
  write_env
  log "node cluster up: source $STATE/env"
}

# Removes every container, mount, cgroup and namespace the node made, even
# when kubelet or a test died half-way.
down() {
  stop_one kubelet
  # Servers whose pid file is gone (a down that died half-way): their command lines name our paths.
  pkill -9 -f -- "--config $STATE/kubelet.yaml" 2>/dev/null || true
  if [ -d "$RUN/runc" ]; then
    for id in $(runc --root "$RUN/runc/k8s.io" list -q 2>/dev/null); do runc --root "$RUN/runc/k8s.io" delete --force "$id" 2>/dev/null || true; done
  fi
  pkill -9 -f "containerd-shim-runc-v2 .*-address $RUN/containerd.sock" 2>/dev/null || true
  stop_one containerd
  stop_one kube-proxy
  stop_one openbao
  stop_one moto
  pkill -9 -f -- "$STATE/|$NODE_IP:$BAO_PORT|-H $NODE_IP -p $MOTO_PORT" 2>/dev/null || true
  [ -d "$STATE/cp" ] && SECRETSYNC_STATE="$STATE/cp" CP_PORT_BASE="$BASE" bash "$ROOT/scripts/control-plane.sh" down
  # Pod network namespaces that containerd left (they are named cni-<uuid>).
  for ns in $(ip netns list | awk '/^cni-/{print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
  ip netns delete "$NETNS" 2>/dev/null || true
  ip link delete "$HOST_IF" 2>/dev/null || true
  # Deepest first: kubelet's volume tmpfs, containerd's overlay and shm mounts.
  awk -v a="$DATA/" -v b="$RUN/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  # Whatever still runs in the node's cgroups (containers whose runc state is gone) goes too.
  if [ -d "/sys/fs/cgroup/memory/$CGROUP_ROOT" ]; then
    find "/sys/fs/cgroup/memory/$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    for _ in $(seq 1 50); do [ -z "$(find "/sys/fs/cgroup/memory/$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  for controller in /sys/fs/cgroup/*/; do
    [ -d "$controller$CGROUP_ROOT" ] && find "$controller$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$DATA" "$RUN" "$STATE"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) node_ready ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
