#!/usr/bin/env bash
# `make demo`: a local control plane, the example stores and ExternalSecrets,
# and the operator syncing them. Ctrl-C stops the operator and the control plane.
source "$(dirname "$0")/lib.sh"
export SECRETSYNC_STATE="$ROOT/.dev"

bash "$ROOT/scripts/control-plane.sh" up
# shellcheck disable=SC1091
source "$SECRETSYNC_STATE/env"

operator_pid=""
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  [ -n "$operator_pid" ] && kill "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  bash "$ROOT/scripts/control-plane.sh" down
  exit 0
}
trap cleanup INT TERM EXIT

kubectl apply -f "$ROOT/examples/namespace.yaml" >/dev/null
kubectl apply -f "$ROOT/examples/fake-store.yaml" -f "$ROOT/examples/external-secrets.yaml"

node "$ROOT/dist/main.js" --metrics-port 18080 --metrics-bind-address 127.0.0.1 &
operator_pid=$!

kubectl -n demo wait --for condition=Ready externalsecret --all --timeout 60s >/dev/null
echo
kubectl get secretstores,externalsecrets -n demo
kubectl get clustersecretstores
echo
for s in db-creds registry-pull; do
  echo "Secret demo/$s (keys):"
  kubectl -n demo get secret "$s" -o go-template='{{range $k, $v := .data}}  {{$k}}{{"\n"}}{{end}}'
done
echo
log "operator running (metrics on http://127.0.0.1:18080/metrics). Try: source .dev/env; kubectl -n demo delete secret db-creds. Ctrl-C to stop."
wait "$operator_pid"
