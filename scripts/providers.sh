#!/usr/bin/env bash
# Provider servers for the tests and the demo, on 127.0.0.1 next to the
# control plane: OpenBao (dev mode, configured with KV v1/v2, PKI, database
# secrets on a real PostgreSQL, and kubernetes/approle/jwt auth against the
# local kube-apiserver), moto (AWS), and the project's own test servers for
# Azure Key Vault + Entra ID + IMDS (test/servers/azurekv) and Google Secret
# Manager + STS + IAM Credentials (test/servers/gcpsm) and CyberArk Conjur
# (test/servers/conjur), and a JSON secrets API for the webhook provider
# (test/servers/webhook). Called by control-plane.sh.
#   providers.sh up | down
source "$(dirname "$0")/lib.sh"

API_PORT=$((BASE + 3))
BAO_PORT=$((BASE + 10))
PG_PORT=$((BASE + 11))
MOTO_PORT=$((BASE + 12))
AZURE_PORT=$((BASE + 13))
IMDS_PORT=$((BASE + 14))
AZURE_TENANT=5ec2e75e-0000-4000-8000-000000000001
GCP_GRPC_PORT=$((BASE + 15))
GCP_HTTPS_PORT=$((BASE + 16))
CONJUR_PORT=$((BASE + 17))
CONJUR_ACCOUNT=secretsync
WEBHOOK_PORT=$((BASE + 18))
BAO_TOKEN=root
PG_BIN=/usr/lib/postgresql/15/bin
BAO=("$OPENBAO_HOME/venv/bin/bao")
export VAULT_ADDR="http://127.0.0.1:$BAO_PORT" VAULT_TOKEN=$BAO_TOKEN BAO_ADDR="http://127.0.0.1:$BAO_PORT" BAO_TOKEN

install_servers() {
  bash "$ROOT/scripts/install-servers.sh"
  if [ ! -x "$PG_BIN/postgres" ]; then
    log "installing PostgreSQL 15 from Debian"
    apt-get install -y -qq postgresql-15 >/dev/null
  fi
  # Lua runs the Argo CD health checks in deploy/argocd in the tests.
  if ! command -v lua5.4 >/dev/null; then
    log "installing Lua 5.4 from Debian"
    apt-get install -y -qq lua5.4 >/dev/null
  fi
}

start_postgres() {
  alive postgres && return 0
  chmod 755 "$STATE"  # postgres runs as its own user and must reach its directories
  if [ ! -f "$STATE/pg/PG_VERSION" ]; then
    install -d -o postgres -m 700 "$STATE/pg"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$STATE/pg" -A trust -U postgres >/dev/null
  fi
  install -d -o postgres "$STATE/pg-socket"
  runuser -u postgres -- "$PG_BIN/postgres" -D "$STATE/pg" -p "$PG_PORT" -k "$STATE/pg-socket" \
    -c listen_addresses=127.0.0.1 -c fsync=off >"$STATE/postgres.log" 2>&1 &
  echo $! >"$STATE/postgres.pid"
  wait_for postgres 150 "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
}

start_openbao() {
  alive openbao && return 0
  # Audit devices are declared in config (OpenBao refuses them over the API);
  # the audit log lets the bench count the requests OpenBao really receives.
  cat >"$STATE/openbao.hcl" <<HCL
audit "file" "requests" {
  options { file_path = "$STATE/openbao-audit.log" }
}
HCL
  "${BAO[@]}" server -dev -dev-root-token-id="$BAO_TOKEN" -dev-listen-address="127.0.0.1:$BAO_PORT" \
    -config="$STATE/openbao.hcl" >"$STATE/openbao.log" 2>&1 &
  echo $! >"$STATE/openbao.pid"
  wait_for openbao 150 curl -sf -o /dev/null "$VAULT_ADDR/v1/sys/health"
  configure_openbao
}

configure_openbao() {
  local b=("${BAO[@]}")
  "${b[@]}" secrets enable -path=kv1 -version=1 kv >/dev/null
  "${b[@]}" secrets enable pki >/dev/null
  "${b[@]}" secrets tune -max-lease-ttl=87600h pki >/dev/null
  "${b[@]}" write -field=certificate pki/root/generate/internal common_name=secretsync-test ttl=87600h >/dev/null
  "${b[@]}" write pki/roles/app allow_any_name=true generate_lease=true max_ttl=1h ttl=10m >/dev/null 2>&1
  "${b[@]}" secrets enable database >/dev/null
  "${b[@]}" write database/config/pg plugin_name=postgresql-database-plugin allowed_roles='*' \
    connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
    username=postgres password=unused verify_connection=true >/dev/null
  "${b[@]}" write database/roles/app db_name=pg default_ttl=2m max_ttl=10m \
    creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';" >/dev/null
  "${b[@]}" auth enable kubernetes >/dev/null
  "${b[@]}" write auth/kubernetes/config kubernetes_host="https://127.0.0.1:$API_PORT" \
    kubernetes_ca_cert=@"$STATE/certs/apiserver.crt" token_reviewer_jwt="$(cat "$STATE/admin-token")" disable_local_ca_jwt=true >/dev/null
  "${b[@]}" auth enable approle >/dev/null
  "${b[@]}" auth enable jwt >/dev/null
  "${b[@]}" write auth/jwt/config jwt_validation_pubkeys=@"$STATE/sa.pub" bound_issuer="https://127.0.0.1:$API_PORT" >/dev/null
}

start_moto() {
  alive moto && return 0
  "$MOTO_HOME/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"
  wait_for moto 300 curl -sf -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"
}

start_azure() {
  alive azurekv && return 0
  mkdir -p "$STATE/azurekv"
  tsx "$ROOT/test/servers/azurekv/main.ts" --state "$STATE/azurekv" --tls-dir "$STATE/test-tls" --port "$AZURE_PORT" --imds-port "$IMDS_PORT" \
    --tenant "$AZURE_TENANT" --kube-api "https://127.0.0.1:$API_PORT" --kube-ca "$STATE/certs/apiserver.crt" \
    --kube-token "$STATE/admin-token" >"$STATE/azurekv.log" 2>&1 &
  echo $! >"$STATE/azurekv.pid"
  wait_for azurekv 150 curl -sf -o /dev/null --cacert "$STATE/test-tls/ca.crt" \
    "https://127.0.0.1:$AZURE_PORT/$AZURE_TENANT/v2.0/.well-known/openid-configuration"
}

start_google() {
  alive gcpsm && return 0
  # gRPC clients trust only GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when it is set (this
  # machine sets it to the system bundle): give them the bundle plus the test CA.
  local system=/etc/ssl/certs/ca-certificates.crt
  { [ -f "$system" ] && cat "$system"; cat "$STATE/test-tls/ca.crt"; } >"$STATE/test-tls/roots.pem.tmp"
  mv "$STATE/test-tls/roots.pem.tmp" "$STATE/test-tls/roots.pem"
  mkdir -p "$STATE/gcpsm"
  tsx "$ROOT/test/servers/gcpsm/main.ts" --state "$STATE/gcpsm" --tls-dir "$STATE/test-tls" --grpc-port "$GCP_GRPC_PORT" \
    --https-port "$GCP_HTTPS_PORT" --kube-api "https://127.0.0.1:$API_PORT" --kube-ca "$STATE/certs/apiserver.crt" \
    --kube-token "$STATE/admin-token" >"$STATE/gcpsm.log" 2>&1 &
  echo $! >"$STATE/gcpsm.pid"
  wait_for gcpsm 150 curl -s -o /dev/null --cacert "$STATE/test-tls/ca.crt" "https://127.0.0.1:$GCP_HTTPS_PORT/"
}

start_conjur() {
  alive conjur && return 0
  mkdir -p "$STATE/conjur"
  tsx "$ROOT/test/servers/conjur/main.ts" --state "$STATE/conjur" --tls-dir "$STATE/test-tls" --port "$CONJUR_PORT" --account "$CONJUR_ACCOUNT" \
    --kube-api "https://127.0.0.1:$API_PORT" --kube-ca "$STATE/certs/apiserver.crt" --kube-token "$STATE/admin-token" >"$STATE/conjur.log" 2>&1 &
  echo $! >"$STATE/conjur.pid"
  wait_for conjur 150 curl -s -o /dev/null --cacert "$STATE/test-tls/ca.crt" "https://127.0.0.1:$CONJUR_PORT/whoami"
}

start_webhook() {
  alive webhook && return 0
  mkdir -p "$STATE/webhook"
  tsx "$ROOT/test/servers/webhook/main.ts" --state "$STATE/webhook" --tls-dir "$STATE/test-tls" --port "$WEBHOOK_PORT" >"$STATE/webhook.log" 2>&1 &
  echo $! >"$STATE/webhook.pid"
  wait_for webhook 150 curl -s -o /dev/null --cacert "$STATE/test-tls/ca.crt" "https://127.0.0.1:$WEBHOOK_PORT/api/v1/items"
}

write_env() {
  cat >>"$STATE/env" <<ENV
export VAULT_ADDR="$VAULT_ADDR"
export VAULT_TOKEN="$BAO_TOKEN"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export PATH="$OPENBAO_HOME/venv/bin:\$PATH"
export AZURE_KEYVAULT_URL="https://127.0.0.1:$AZURE_PORT"
export AZURE_AUTHORITY_HOST="https://127.0.0.1:$AZURE_PORT"
export AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$IMDS_PORT"
export AZURE_TENANT_ID="$AZURE_TENANT"
export TEST_CA_FILE="$STATE/test-tls/ca.crt"
export AZURE_TEST_ADMIN_KEY_FILE="$STATE/azurekv/admin-key"
export NODE_EXTRA_CA_CERTS="$STATE/test-tls/ca.crt"
export GRPC_DEFAULT_SSL_ROOTS_FILE_PATH="$STATE/test-tls/roots.pem"
export GCP_SECRET_MANAGER_ENDPOINT="127.0.0.1:$GCP_GRPC_PORT"
export GCP_SECRET_MANAGER_REST_ENDPOINT="127.0.0.1:$GCP_HTTPS_PORT"
export GCP_STS_ENDPOINT="https://127.0.0.1:$GCP_HTTPS_PORT"
export GCP_IAM_CREDENTIALS_ENDPOINT="https://127.0.0.1:$GCP_HTTPS_PORT"
export GCP_TEST_ADMIN_KEY_FILE="$STATE/gcpsm/admin-key"
export CONJUR_APPLIANCE_URL="https://127.0.0.1:$CONJUR_PORT"
export CONJUR_ACCOUNT="$CONJUR_ACCOUNT"
export CONJUR_TEST_ADMIN_KEY_FILE="$STATE/conjur/admin-key"
export CONJUR_ADMIN_API_KEY_FILE="$STATE/conjur/admin-api-key"
export WEBHOOK_TEST_URL="https://127.0.0.1:$WEBHOOK_PORT"
export WEBHOOK_TEST_ADMIN_KEY_FILE="$STATE/webhook/admin-key"
ENV
}

case "${1:-}" in
  up) install_servers; start_postgres; start_openbao; start_moto; start_azure; start_google; start_conjur; start_webhook; write_env ;;
  down) stop_one webhook; stop_one conjur; stop_one gcpsm; stop_one azurekv; stop_one moto; stop_one openbao; stop_one postgres ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
