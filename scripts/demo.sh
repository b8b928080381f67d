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
# Azure test Key Vault: register the demo's app, write its values through the REST API.
azure_admin() {
  curl -sf --cacert "$TEST_CA_FILE" -H "x-admin-key: $(cat "$AZURE_TEST_ADMIN_KEY_FILE")" \
    -H 'content-type: application/json' -d "$2" "$AZURE_KEYVAULT_URL/__admin/$1" >/dev/null
}
azure_admin apps "{\"tenantId\":\"$AZURE_TENANT_ID\",\"clientId\":\"demo-reader\",\"secrets\":[\"demo-client-secret\"],\"permissions\":{\"secrets\":[\"get\",\"list\",\"set\"]}}"
azure_token=$(curl -sf --cacert "$TEST_CA_FILE" "$AZURE_AUTHORITY_HOST/$AZURE_TENANT_ID/oauth2/v2.0/token" \
  -d grant_type=client_credentials -d client_id=demo-reader -d client_secret=demo-client-secret \
  --data-urlencode scope=https://vault.azure.net/.default | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
azure_put() {
  curl -sf --cacert "$TEST_CA_FILE" -X PUT -H "authorization: Bearer $azure_token" -H 'content-type: application/json' \
    -d "$2" "$AZURE_KEYVAULT_URL/secrets/$1?api-version=7.5" >/dev/null
}
azure_put payments-db '{"value":"{\"user\":\"payments\",\"password\":\"demo-db-password\"}"}'
azure_put payments-api-key '{"value":"demo-payments-key","tags":{"app":"payments"}}'
kubectl -n demo create secret generic azure-sp --from-literal=clientId=demo-reader \
  --from-literal=clientSecret=demo-client-secret --dry-run=client -o yaml | kubectl apply -f - >/dev/null

# Google test Secret Manager: a service account key for the demo, and its values.
tsx "$ROOT/scripts/demo-gcp.ts" "$SECRETSYNC_STATE/gcpsm/demo-key.json"
kubectl -n demo create secret generic gcp-sa --from-file=key.json="$SECRETSYNC_STATE/gcpsm/demo-key.json" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null

kubectl apply -f "$ROOT/examples/vault-stores.yaml" -f "$ROOT/examples/vault-external-secrets.yaml" \
  -f "$ROOT/examples/fake-store.yaml" -f "$ROOT/examples/external-secrets.yaml" -f "$ROOT/examples/azurekv.yaml" \
  -f "$ROOT/examples/gcpsm.yaml"

node --enable-source-maps "$ROOT/dist/bundle/main.mjs" --metrics-port 18080 --metrics-bind-address 127.0.0.1 &
operator_pid=$!

kubectl -n demo wait --for condition=Ready externalsecret --all --timeout 60s >/dev/null
echo
kubectl get secretstores,externalsecrets -n demo
kubectl get clustersecretstores
echo
for s in api db-config db-dynamic db-creds registry-pull payments checkout; do
  echo "Secret demo/$s (keys):"
  kubectl -n demo get secret "$s" -o go-template='{{range $k, $v := .data}}  {{$k}}{{"\n"}}{{end}}'
done
echo
log "operator running (metrics on http://127.0.0.1:18080/metrics). Try: source .dev/env; kubectl -n demo delete secret db-creds. Ctrl-C to stop."
wait "$operator_pid"
