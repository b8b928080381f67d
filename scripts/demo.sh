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
# Short-lived database credentials, so the demo shows renewal and replacement within a minute.
bao write database/roles/demo-short db_name=pg default_ttl=15s max_ttl=40s \
  creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';" >/dev/null
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

# Conjur test server: a host, its API key in a Secret, and variables it may fetch.
conjur_admin() {
  curl -sf --cacert "$TEST_CA_FILE" -H "x-admin-key: $(cat "$CONJUR_TEST_ADMIN_KEY_FILE")" \
    -H 'content-type: application/json' -d "$2" "$CONJUR_APPLIANCE_URL/__admin/$1"
}
conjur_key=$(conjur_admin roles '{"login":"host/demo/billing"}' | sed -E 's/.*"apiKey":"([^"]+)".*/\1/')
b64() { printf %s "$1" | base64 -w0; }
grant='"permissions":{"host/demo/billing":"execute"}'
conjur_admin variables "{\"id\":\"billing/db/user\",\"values\":[\"$(b64 billing)\"],$grant}" >/dev/null
conjur_admin variables "{\"id\":\"billing/db/password\",\"values\":[\"$(b64 demo-old-password)\",\"$(b64 demo-billing-password)\"],$grant}" >/dev/null
conjur_admin variables "{\"id\":\"billing/api/key\",\"values\":[\"$(b64 demo-billing-key)\"],\"annotations\":{\"team\":\"billing\"},$grant}" >/dev/null
kubectl -n demo create secret generic conjur-host --from-literal=login=host/demo/billing \
  --from-literal=apiKey="$conjur_key" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

kubectl apply -f "$ROOT/examples/vault-stores.yaml" -f "$ROOT/examples/vault-external-secrets.yaml" \
  -f "$ROOT/examples/fake-store.yaml" -f "$ROOT/examples/external-secrets.yaml" -f "$ROOT/examples/azurekv.yaml" \
  -f "$ROOT/examples/gcpsm.yaml" -f "$ROOT/examples/conjur.yaml" -f "$ROOT/examples/pushsecrets.yaml"

node --enable-source-maps "$ROOT/dist/bundle/main.mjs" --metrics-port 18080 --metrics-bind-address 127.0.0.1 &
operator_pid=$!

kubectl -n demo wait --for condition=Ready externalsecrets.secretsync.dev --all --timeout 60s >/dev/null
kubectl -n demo wait --for condition=Ready pushsecrets.secretsync.dev --all --timeout 60s >/dev/null
echo
kubectl get secretstores.secretsync.dev,externalsecrets.secretsync.dev,pushsecrets.secretsync.dev -n demo
kubectl get clustersecretstores.secretsync.dev
echo
# What the PushSecret wrote: keys and the owner it recorded, never values.
bao kv get -mount=secret -format=json demo/pushed/signing | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const j = JSON.parse(s).data;
  console.log(`OpenBao secret/demo/pushed/signing: keys ${Object.keys(j.data).join(", ")}; owner ${j.metadata.custom_metadata["secretsync-owner"]}`);
});'
for s in api db-config db-dynamic db-creds registry-pull payments checkout billing generated; do
  echo "Secret demo/$s (keys):"
  kubectl -n demo get secret "$s" -o go-template='{{range $k, $v := .data}}  {{$k}}{{"\n"}}{{end}}'
done
echo
# Rotation as it happens: keys and versions only, never values.
rv() { kubectl -n demo get secret "$1" -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null; }
watch_rotation() {
  log "watching for 60 s: db-dynamic's lease (15 s TTL, 40 s max) and demo/api, which this script changes at 8 s"
  local start=$SECONDS t lease db api_version api last_lease="" last_db last_api_version last_api changed=""
  last_db=$(rv db-dynamic); last_api=$(rv api)
  last_api_version=$(kubectl -n demo get externalsecrets.secretsync.dev api -o jsonpath='{.status.sources[0].version}')
  while (( SECONDS - start < 60 )); do
    t=$((SECONDS - start))
    if (( t >= 8 )) && [ -z "$changed" ]; then
      changed=1
      bao kv put -mount=secret demo/api key="demo-api-key-$RANDOM" >/dev/null
      echo "  ${t}s  demo/api changed in OpenBao"
    fi
    lease=$(kubectl -n demo get externalsecrets.secretsync.dev db-dynamic -o jsonpath='{.status.sources[0].expiresAt}')
    db=$(rv db-dynamic)
    if [ "$lease" != "$last_lease" ] && [ -n "$last_lease" ]; then
      if [ "$db" = "$last_db" ]; then echo "  ${t}s  db-dynamic: lease renewed, now ends $lease; Secret unchanged (version $db)"
      else echo "  ${t}s  db-dynamic: lease at its max TTL, new credentials (keys: $(kubectl -n demo get secret db-dynamic -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}')); Secret version $last_db -> $db, lease ends $lease"; fi
    fi
    api_version=$(kubectl -n demo get externalsecrets.secretsync.dev api -o jsonpath='{.status.sources[0].version}')
    api=$(rv api)
    if [ "$api" != "$last_api" ]; then echo "  ${t}s  api: KV version $last_api_version -> $api_version; Secret version $last_api -> $api (key: api-key)"; fi
    last_lease=$lease; last_db=$db; last_api=$api; last_api_version=$api_version
    sleep 1
  done
}
watch_rotation
echo
log "operator running (metrics on http://127.0.0.1:18080/metrics). Ctrl-C to stop. Watch it yourself:"
echo "  source .dev/env"
echo "  kubectl -n demo get externalsecrets.secretsync.dev -w                 # Ready, reason, refresh"
echo "  kubectl -n demo get externalsecrets.secretsync.dev db-dynamic -o jsonpath='{.status.sources}'   # lease end"
echo "  bao kv put -mount=secret demo/api key=something-new    # followed within 10 s"
echo "  kubectl -n demo delete secret db-creds                 # recreated at once"
wait "$operator_pid"
