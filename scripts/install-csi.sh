#!/usr/bin/env bash
# The Secrets Store CSI driver for the CSI tests, built from the Go module
# proxy (nothing is downloaded from a release page), and the driver's own
# provider client (test/tools/csi-client: the driver's generated
# provider/v1alpha1 client). Cached under ~/.cache/secretsync/csi/; prints
# that directory, which holds secrets-store-csi-driver-<version>, crds-<version>/, csi-client and
# csi-registrar.
#
# Which driver: v1.3.0, the newest release that builds here. Every later one
# (v1.3.1 to v1.6.1, the newest the proxy serves) imports monis.app/mlog,
# which the proxy refuses at every version (403 Forbidden); v1.3.0 speaks the
# same provider API (provider/v1alpha1/service.proto is unchanged since). It
# is built against gRPC 1.60.1 instead of its pinned 1.47, whose unix-socket
# :authority Node's HTTP/2 refuses (test/tools/csi-driver/go.mod says more).
# node-driver-registrar is tried too; the proxy has refused every version of
# it so far, which is printed, not hidden.
#   install-csi.sh
source "$(dirname "$0")/lib.sh"
CSI_DRIVER_VERSION=v1.3.0
REGISTRAR_VERSION=v2.13.0
dir="$CACHE/csi"
mkdir -p "$dir"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
tools="$ROOT/test/tools"
if [ ! -x "$dir/secrets-store-csi-driver-$CSI_DRIVER_VERSION" ] || [ "$tools/csi-driver/go.mod" -nt "$dir/secrets-store-csi-driver-$CSI_DRIVER_VERSION" ]; then
  log "building secrets-store-csi-driver $CSI_DRIVER_VERSION from the Go module proxy (about a minute, once)"
  (cd "$tools/csi-driver" && go build -o "$dir/secrets-store-csi-driver-$CSI_DRIVER_VERSION" sigs.k8s.io/secrets-store-csi-driver/cmd/secrets-store-csi-driver) >&2
fi
# The driver's CRDs (SecretProviderClass, SecretProviderClassPodStatus), as its release publishes them.
if [ ! -f "$dir/crds-$CSI_DRIVER_VERSION/secretproviderclasses.yaml" ]; then
  module=$(cd "$tools/csi-driver" && go list -m -f '{{.Dir}}' sigs.k8s.io/secrets-store-csi-driver)
  mkdir -p "$dir/crds-$CSI_DRIVER_VERSION"
  cp "$module/deploy/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml" "$dir/crds-$CSI_DRIVER_VERSION/secretproviderclasses.yaml"
  cp "$module/deploy/secrets-store.csi.x-k8s.io_secretproviderclasspodstatuses.yaml" "$dir/crds-$CSI_DRIVER_VERSION/secretproviderclasspodstatuses.yaml"
  chmod 644 "$dir/crds-$CSI_DRIVER_VERSION"/*.yaml
fi
if [ ! -x "$dir/csi-client" ] || [ "$tools/csi-client/main.go" -nt "$dir/csi-client" ] || [ "$tools/csi-client/go.mod" -nt "$dir/csi-client" ]; then
  log "building the driver's provider client (test/tools/csi-client)"
  (cd "$tools/csi-client" && go build -o "$dir/csi-client" .) >&2
fi
# A stand-in for node-driver-registrar in the e2e (test/tools/csi-registrar: the kubelet's own
# registration API package), since the proxy refuses the real one.
if [ ! -x "$dir/csi-registrar" ] || [ "$tools/csi-registrar/main.go" -nt "$dir/csi-registrar" ]; then
  log "building the e2e's registrar (test/tools/csi-registrar)"
  (cd "$tools/csi-registrar" && go build -o "$dir/csi-registrar" .) >&2
fi
if [ ! -x "$dir/csi-node-driver-registrar" ] && [ ! -f "$dir/registrar-refused-$REGISTRAR_VERSION" ]; then
  if ! GOBIN="$dir" GOFLAGS= go install "github.com/kubernetes-csi/node-driver-registrar/cmd/csi-node-driver-registrar@$REGISTRAR_VERSION" 2>"$dir/registrar.log"; then
    log "node-driver-registrar $REGISTRAR_VERSION could not be built: $(grep -m1 -o '403 Forbidden' "$dir/registrar.log" || tail -1 "$dir/registrar.log")"
    touch "$dir/registrar-refused-$REGISTRAR_VERSION"
  fi
fi
echo "$dir"
