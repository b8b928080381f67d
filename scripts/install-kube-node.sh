#!/usr/bin/env bash
# What a Kubernetes node needs beside the control plane, for the end-to-end
# tests that run the chart's Pods (scripts/node-cluster.sh): containerd, runc,
# the CNI plugins and iptables from Debian; kubelet, kube-proxy and
# kube-scheduler built from the same Kubernetes module as kube-apiserver
# (tools/kube); and the Pod sandbox ("pause") image, compiled from the pause.c
# that module ships, since no registry serves registry.k8s.io/pause here.
# Idempotent: a second run finds everything and exits at once.
source "$(dirname "$0")/lib.sh"

PAUSE_TAG=3.10.1
PAUSE_IMAGE="$KUBE_NODE_BIN/pause.oci.tar"

missing=()
for cmd in containerd runc iptables conntrack; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing containerd, runc, CNI plugins, iptables and conntrack from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd runc containernetworking-plugins iptables conntrack >/dev/null
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$KUBE_NODE_BIN/kubelet" ] || [ ! -x "$KUBE_NODE_BIN/kube-proxy" ] || [ ! -x "$KUBE_NODE_BIN/kube-scheduler" ]; then lock_cache; fi
if [ ! -x "$KUBE_NODE_BIN/kubelet" ] || [ ! -x "$KUBE_NODE_BIN/kube-proxy" ] || [ ! -x "$KUBE_NODE_BIN/kube-scheduler" ]; then
  log "building kubelet, kube-proxy and kube-scheduler v$KUBE_VERSION (cold: ~5-10 min on 2 cores)"
  mkdir -p "$KUBE_NODE_BIN.tmp"
  (cd "$ROOT/tools/kube" && CGO_ENABLED=0 go build -trimpath -o "$KUBE_NODE_BIN.tmp/" -ldflags "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kube-scheduler)
  rm -rf "$KUBE_NODE_BIN" && mv "$KUBE_NODE_BIN.tmp" "$KUBE_NODE_BIN"
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -f "$PAUSE_IMAGE" ]; then lock_cache; fi
if [ ! -f "$PAUSE_IMAGE" ]; then
  log "building the pause image $PAUSE_TAG"
  src=$(cd "$ROOT/tools/kube" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  work=$(mktemp -d)
  mkdir -p "$work/rootfs"
  # The flags of the upstream build/pause/Makefile.
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG-secretsync" -o "$work/rootfs/pause" "$src"
  strip "$work/rootfs/pause"
  echo '{"User":"65535:65535","Entrypoint":["/pause"]}' >"$work/config.json"
  node "$ROOT/scripts/oci-image.mjs" --out "$PAUSE_IMAGE" --ref "$PAUSE_REF" --config "$work/config.json" --layer "$work/rootfs"
  rm -rf "$work"
fi
