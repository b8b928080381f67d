#!/usr/bin/env bash
# Builds the oldest Kubernetes secretsync is tested against (kube-apiserver and
# kube-controller-manager v1.30, through the wrapper module tools/kube-oldest)
# into the cache, for `make test-oldest-kubernetes`. Idempotent.
# Why 1.30: the CRDs' CEL rules are enforced by default from 1.25, but the
# module proxy reachable here serves no consistent set of 1.25-1.29 staging
# modules (k8s.io/cluster-bootstrap v0.25.16, k8s.io/kubelet, kube-aggregator,
# pod-security-admission and legacy-cloud-providers v0.25.8 answer 403 "not
# available"); 1.30.14 is the oldest release it serves whole.
source "$(dirname "$0")/lib.sh"

OLDEST_BIN="$CACHE/kubernetes-$OLDEST_KUBE_VERSION"
# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$OLDEST_BIN/kube-apiserver" ] || [ ! -x "$OLDEST_BIN/kube-controller-manager" ]; then lock_cache; fi
if [ ! -x "$OLDEST_BIN/kube-apiserver" ] || [ ! -x "$OLDEST_BIN/kube-controller-manager" ]; then
  log "building Kubernetes v$OLDEST_KUBE_VERSION's kube-apiserver and kube-controller-manager (cold: ~10 min on 2 cores)"
  mkdir -p "$OLDEST_BIN.tmp"
  (cd "$ROOT/tools/kube-oldest" && CGO_ENABLED=0 go build -trimpath -o "$OLDEST_BIN.tmp/" -ldflags "$(KUBE_VERSION=$OLDEST_KUBE_VERSION kube_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  rm -rf "$OLDEST_BIN" && mv "$OLDEST_BIN.tmp" "$OLDEST_BIN"
fi
echo "$OLDEST_BIN"
