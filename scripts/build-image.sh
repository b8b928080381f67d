#!/usr/bin/env bash
# `make image`: the operator's image built on this machine, with no base image
# pulled and no Docker engine. The same contents and contract as the
# Dockerfile's final stage (distroless Node 24, non-root 65532, only the
# bundle): a root filesystem from Debian's packages (the C and C++ runtimes
# Node links against, time zones, CA certificates, netbase), the Node runtime
# from the npm package the project already uses, and dist/bundle. Written as
# an OCI archive that containerd imports (scripts/oci-image.mjs), with its
# software bill of materials beside it (scripts/sbom.mjs: <archive>.cdx.json).
#   build-image.sh [--ref NAME:TAG] [--out FILE]
# The Dockerfile stays the release path; test/e2e/image.test.ts checks the two agree.
source "$(dirname "$0")/lib.sh"

REF="${IMAGE_REF:-ghcr.io/secretsync/secretsync:dev}"
OUT="$ROOT/dist/image/secretsync.oci.tar"
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) REF=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--ref NAME:TAG] [--out FILE]" >&2; exit 2 ;;
  esac
done

# What the distroless nodejs image carries beside Node: libc, libgcc, libstdc++
# (Node links them dynamically), tzdata, netbase and the CA bundle.
DEBS=(libc6 libgcc-s1 libstdc++6 gcc-12-base tzdata netbase ca-certificates)
DEB_CACHE="$CACHE/image-debs"

fetch_debs() {
  mkdir -p "$DEB_CACHE"
  local missing=()
  for p in "${DEBS[@]}"; do compgen -G "$DEB_CACHE/${p}_*.deb" >/dev/null || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "downloading Debian packages for the image: ${missing[*]}"
  (cd "$DEB_CACHE" && { apt-get download "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "${missing[@]}" >/dev/null; }; })
}

[ -f "$ROOT/dist/bundle/main.mjs" ] || { log "dist/bundle is missing: run make build"; exit 1; }
fetch_debs
work="$ROOT/dist/image/layers"
rm -rf "$work" && mkdir -p "$work/base" "$work/node/nodejs/bin" "$work/app/app/dist"

# Layer 1: the root filesystem.
for deb in "$DEB_CACHE"/*.deb; do dpkg-deb -x "$deb" "$work/base"; done
base=$work/base
rm -rf "$base/usr/share/doc" "$base/usr/share/man" "$base/usr/share/lintian" "$base/usr/share/info"
# What update-ca-certificates would write: the bundle of every shipped certificate.
mkdir -p "$base/etc/ssl/certs"
find "$base/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"$base/etc/ssl/certs/ca-certificates.crt"
ldconfig -r "$base" 2>/dev/null || true
cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$base/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
install -d -m 0700 "$base/root"
install -d -m 0700 -o 65532 -g 65532 "$base/home/nonroot"
install -d -m 1777 "$base/tmp"
chmod 0755 "$base"

# Layer 2: the Node runtime, at the path distroless uses.
bash "$ROOT/scripts/install-node.sh"
install -m 0755 "$NODE_HOME/bin/node" "$work/node/nodejs/bin/node"
install -m 0644 "$NODE_HOME/LICENSE" "$work/node/nodejs/LICENSE"

# Layer 3: only the bundle, as the Dockerfile's COPY --from=build /app/dist/bundle.
cp -a "$ROOT/dist/bundle" "$work/app/app/dist/bundle"
chown -R 0:0 "$work/node" "$work/app"

# The image config: the Dockerfile's USER, WORKDIR, ENV, EXPOSE and ENTRYPOINT.
cat >"$work/config.json" <<'EOF'
{
  "User": "65532:65532",
  "WorkingDir": "/app",
  "Env": [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "NODE_OPTIONS=--max-old-space-size-percentage=60"
  ],
  "ExposedPorts": { "8080/tcp": {} },
  "Entrypoint": ["/nodejs/bin/node", "--optimize-for-size", "dist/bundle/main.mjs"],
  "Labels": { "org.opencontainers.image.source": "secretsync make image" }
}
EOF
built=$(node "$ROOT/scripts/oci-image.mjs" --out "$OUT" --ref "$REF" --config "$work/config.json" \
  --layer "$work/base" --layer "$work/node" --layer "$work/app")
echo "$built"

# The software bill of materials beside it (CycloneDX JSON; docs/security.md): the Node runtime,
# the production npm packages (the bundle carries a subset), the Debian packages of layer 1.
(cd "$ROOT" && cyclonedx-npm --omit dev --spec-version 1.5 --output-format JSON --flatten-components \
  --output-file "$work/npm.cdx.json" >/dev/null 2>&1)
node "$ROOT/scripts/sbom.mjs" --npm "$work/npm.cdx.json" --debs "$DEB_CACHE" --node-version "$NODE_VERSION" \
  --image-digest "$(echo "$built" | awk '{print $2}')" --out "${OUT%.oci.tar}.cdx.json"
