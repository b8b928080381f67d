#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kubectl, helm, promtool and
# External Secrets Operator's template engine (the reference for migrate) from the Go
# module proxy through the wrapper modules in tools/, into the cache outside
# the repo. Idempotent: a second run finds the binaries and exits at once.
source "$(dirname "$0")/lib.sh"

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$KUBE_BIN/kube-apiserver" ] || [ ! -x "$KUBE_BIN/kube-controller-manager" ] || [ ! -x "$KUBE_BIN/kubectl" ]; then lock_cache; fi
if [ ! -x "$KUBE_BIN/kube-apiserver" ] || [ ! -x "$KUBE_BIN/kube-controller-manager" ] || [ ! -x "$KUBE_BIN/kubectl" ]; then
  log "building Kubernetes v$KUBE_VERSION (cold: ~6-15 min on 2 cores)"
  mkdir -p "$KUBE_BIN.tmp"
  (cd "$ROOT/tools/kube" && CGO_ENABLED=0 go build -trimpath -o "$KUBE_BIN.tmp/" -ldflags "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$KUBE_BIN" && mv "$KUBE_BIN.tmp" "$KUBE_BIN"
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$ETCD_BIN/etcd" ]; then lock_cache; fi
if [ ! -x "$ETCD_BIN/etcd" ]; then
  log "building etcd v$ETCD_VERSION"
  mkdir -p "$ETCD_BIN.tmp"
  (cd "$ROOT/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$ETCD_BIN" && mv "$ETCD_BIN.tmp" "$ETCD_BIN"
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$HELM_BIN/helm" ]; then lock_cache; fi
if [ ! -x "$HELM_BIN/helm" ]; then
  log "building helm v$HELM_VERSION (cold: ~1-2 min)"
  mkdir -p "$HELM_BIN.tmp"
  (cd "$ROOT/tools/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" -o "$HELM_BIN.tmp/helm" helm.sh/helm/v3/cmd/helm)
  rm -rf "$HELM_BIN" && mv "$HELM_BIN.tmp" "$HELM_BIN"
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$PROMTOOL_BIN/promtool" ]; then lock_cache; fi
if [ ! -x "$PROMTOOL_BIN/promtool" ]; then
  log "building promtool (prometheus v$PROMETHEUS_VERSION; cold: ~4 min)"
  mkdir -p "$PROMTOOL_BIN.tmp"
  (cd "$ROOT/tools/prometheus" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$PROMTOOL_BIN.tmp/promtool" github.com/prometheus/prometheus/cmd/promtool)
  rm -rf "$PROMTOOL_BIN" && mv "$PROMTOOL_BIN.tmp" "$PROMTOOL_BIN"
fi

# Missing: wait for any other run installing into the cache (lock_cache), then check again.
if [ ! -x "$ESO_TEMPLATE_BIN/eso-template" ]; then lock_cache; fi
if [ ! -x "$ESO_TEMPLATE_BIN/eso-template" ]; then
  log "building External Secrets Operator v$ESO_VERSION's template engine (cold: ~3 min)"
  mkdir -p "$ESO_TEMPLATE_BIN.tmp"
  (cd "$ROOT/tools/eso-template" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ESO_TEMPLATE_BIN.tmp/eso-template" .)
  rm -rf "$ESO_TEMPLATE_BIN" && mv "$ESO_TEMPLATE_BIN.tmp" "$ESO_TEMPLATE_BIN"
fi
