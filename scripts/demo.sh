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
# OpenBao: demo values, a reader policy, and the role for Kubernetes auth.
bao kv put -mount=secret demo/api key=demo-api-key >/dev/null
bao kv put -mount=secret demo/db username=app password=demo-password host=db.demo.svc >/dev/null
echo 'path "secret/*" { capabilities = ["read", "list"] }' | bao policy write demo-reader - >/dev/null
bao write auth/kubernetes/role/demo-reader bound_service_account_names=app-reader \
  bound_service_account_namespaces=demo policies=demo-reader audience=vault ttl=1h >/dev/null
kubectl -n demo create serviceaccount app-reader --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n demo create secret generic openbao-token --from-literal=token="$VAULT_TOKEN" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f "$ROOT/examples/vault-stores.yaml" -f "$ROOT/examples/vault-external-secrets.yaml" \
  -f "$ROOT/examples/fake-store.yaml" -f "$ROOT/examples/external-secrets.yaml"

node --enable-source-maps "$ROOT/dist/bundle/main.mjs" --metrics-port 18080 --metrics-bind-address 127.0.0.1 &
operator_pid=$!

kubectl -n demo wait --for condition=Ready externalsecret --all --timeout 60s >/dev/null
echo
kubectl get secretstores,externalsecrets -n demo
kubectl get clustersecretstores
echo
for s in api db-config db-dynamic db-creds registry-pull; do
  echo "Secret demo/$s (keys):"
  kubectl -n demo get secret "$s" -o go-template='{{range $k, $v := .data}}  {{$k}}{{"\n"}}{{end}}'
done
echo
log "operator running (metrics on http://127.0.0.1:18080/metrics). Try: source .dev/env; kubectl -n demo delete secret db-creds. Ctrl-C to stop."
wait "$operator_pid"
