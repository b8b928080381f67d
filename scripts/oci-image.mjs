// Writes an OCI image archive (an OCI image layout in one tar, the form
// `ctr images import` and skopeo take) from directories, one layer each, and
// an image config. No base image and no registry: the layers are whatever the
// calling script assembled. Layers are uncompressed, reproducible tars (sorted
// names, numeric owners as on disk, mtime 0), so the same inputs give the same
// digests.
//   node scripts/oci-image.mjs --out FILE --ref NAME:TAG --config FILE.json --layer DIR [--layer DIR ...]
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    ref: { type: 'string' },
    config: { type: 'string' },
    layer: { type: 'string', multiple: true },
  },
});
if (!values.out || !values.ref || !values.config || !values.layer?.length) {
  console.error('usage: oci-image.mjs --out FILE --ref NAME:TAG --config FILE.json --layer DIR [--layer DIR ...]');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'oci-image-'));
const blobs = join(work, 'blobs/sha256');
mkdirSync(blobs, { recursive: true });

/** Stores bytes as a blob and returns its descriptor. */
function blob(mediaType, bytes) {
  const digest = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(blobs, digest), bytes);
  return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
}

function layerTar(dir) {
  return execFileSync('tar', [
    '--create', '--file', '-', '--sort=name', '--numeric-owner', '--mtime=@0', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', resolve(dir), '.',
  ], { maxBuffer: 2 ** 31 });
}

const layers = values.layer.map((dir) => blob('application/vnd.oci.image.layer.v1.tar', layerTar(dir)));
// The uncompressed layers' digests are also their diff ids.
const diffIds = layers.map((l) => l.digest);
const image = JSON.parse(readFileSync(values.config, 'utf8'));
const config = blob('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  created: '1970-01-01T00:00:00Z',
  config: image,
  rootfs: { type: 'layers', diff_ids: diffIds },
  history: values.layer.map((dir) => ({ created: '1970-01-01T00:00:00Z', created_by: `oci-image.mjs --layer ${dir.split('/').slice(-1)[0]}` })),
})));
const manifest = blob('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers,
})));
const tag = values.ref.slice(values.ref.lastIndexOf(':') + 1);
writeFileSync(join(work, 'index.json'), JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  // containerd names the imported image from io.containerd.image.name; other
  // tools read the tag from org.opencontainers.image.ref.name.
  manifests: [{ ...manifest, annotations: { 'io.containerd.image.name': values.ref, 'org.opencontainers.image.ref.name': tag } }],
}));
writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

mkdirSync(dirname(resolve(values.out)), { recursive: true });
execFileSync('tar', ['--create', '--file', `${values.out}.tmp`, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', work, 'oci-layout', 'index.json', 'blobs']);
renameSync(`${values.out}.tmp`, values.out);
rmSync(work, { recursive: true, force: true });
console.log(`${values.ref} ${manifest.digest} (${layers.length} layers, ${(layers.reduce((n, l) => n + l.size, 0) / 2 ** 20).toFixed(1)} MiB) -> ${values.out}`);
