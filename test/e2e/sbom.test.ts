// What is in the image, stated and checked (docs/security.md, "What is in the
// image"): `make image` writes a CycloneDX bill of materials beside the OCI
// archive. Every npm package whose code the bundle carries is listed (found
// here from esbuild's list of the bundle's inputs, not from what the SBOM
// generator read), every licence is on the lists below, and a second build of the same
// commit gives the same image and the same SBOM.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const archive = process.env.IMAGE_ARCHIVE ?? join(root, 'dist/image/secretsync.oci.tar');
const sbomFile = archive.replace(/\.oci\.tar$/, '.cdx.json');

/** Licences npm packages in the image may carry: permissive ones only. */
const NPM_ALLOWED = new Set(['Apache-2.0', 'MIT', 'ISC', '0BSD', 'BSD-2-Clause', 'BSD-3-Clause', 'Unlicense', 'CC0-1.0', 'PSF-2.0', 'BlueOak-1.0.0', 'Python-2.0']);
/** Licences of the Debian packages of the root filesystem (the C and C++ runtimes, time zones, CA certificates, netbase). */
const OS_ALLOWED = new Set(['LGPL-2.1-or-later', 'GPL-3.0-or-later WITH GCC-exception-3.1', 'GPL-2.0-only', 'GPL-2.0-or-later', 'MPL-2.0', 'LicenseRef-public-domain']);

interface Component { type: string; name: string; group?: string; version: string; purl: string; licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }> }
interface Bom { bomFormat: string; specVersion: string; serialNumber: string; metadata: { component: { hashes: Array<{ content: string }> } }; components: Component[] }

const readBom = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Bom;
const fullName = (c: Component) => (c.group ? `${c.group}/${c.name}` : c.name);
const manifestDigest = (tar: string) => (JSON.parse(execFileSync('tar', ['-xOf', tar, 'index.json']).toString('utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;

/** The licence expressions of a component, each as the alternatives (OR) any one of which may be chosen, each of licences that all apply (AND). */
function alternatives(c: Component): string[][][] {
  return (c.licenses ?? []).map((l) => (l.expression ?? l.license?.id ?? l.license?.name ?? '').replace(/^\((.*)\)$/, '$1').split(' OR ').map((x) => x.trim().split(' AND ')));
}

/** Every npm package (name@version) whose files the bundle was built from, from esbuild's list of its inputs (dist/bundle.meta.json). */
function bundledPackages(): Set<string> {
  const { inputs } = JSON.parse(readFileSync(join(root, 'dist/bundle.meta.json'), 'utf8')) as { inputs: string[] };
  const found = new Set<string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/[^/]+|[^/]+))\//.exec(input);
    if (!m) continue;
    const { name, version } = JSON.parse(readFileSync(join(root, m[1]!, 'package.json'), 'utf8')) as { name: string; version: string };
    found.add(`${name}@${version}`);
  }
  return found;
}

describe('the image\'s bill of materials', () => {
  const bom = readBom(sbomFile);

  it('is CycloneDX 1.5 for this very image, and lists the Node runtime the project pins', () => {
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.5');
    expect(`sha256:${bom.metadata.component.hashes[0]!.content}`).toBe(manifestDigest(archive));
    const pinned = /^NODE_VERSION=(.+)$/m.exec(readFileSync(join(root, 'scripts/lib.sh'), 'utf8'))![1];
    expect(bom.components.filter((c) => c.type === 'platform')).toEqual([expect.objectContaining({ name: 'node', version: pinned })]);
  });

  it('lists every npm package the bundle carries, at the version it carries', () => {
    const listed = new Set(bom.components.filter((c) => c.purl.startsWith('pkg:npm/') && c.type === 'library').map((c) => `${fullName(c)}@${c.version}`));
    const bundled = bundledPackages();
    expect(bundled.size).toBeGreaterThan(50);
    expect([...bundled].filter((p) => !listed.has(p))).toEqual([]);
  });

  it('lists the Debian packages of the root filesystem, each once', () => {
    const debs = bom.components.filter((c) => c.purl.startsWith('pkg:deb/'));
    const declared = /^DEBS=\((.*)\)$/m.exec(readFileSync(join(root, 'scripts/build-image.sh'), 'utf8'))![1]!.split(' ');
    expect(debs.map((c) => c.name).sort()).toEqual([...declared].sort());
  });

  it('carries no licence outside the allow-lists, and no component without one', () => {
    const refused: string[] = [];
    for (const c of bom.components) {
      const allowed = c.purl.startsWith('pkg:deb/') ? OS_ALLOWED : NPM_ALLOWED;
      const expressions = alternatives(c);
      if (expressions.length === 0) refused.push(`${fullName(c)}@${c.version}: no licence`);
      for (const options of expressions) {
        if (!options.some((all) => all.every((l) => allowed.has(l)))) refused.push(`${fullName(c)}@${c.version}: ${options.map((all) => all.join(' AND ')).join(' OR ')}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('a second build of the same commit gives the same layers, the same image digest and the same SBOM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-again-'));
    try {
      const again = join(dir, 'secretsync.oci.tar');
      const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json']).toString('utf8')) as { manifests: Array<{ annotations: Record<string, string> }> };
      const ref = index.manifests[0]!.annotations['io.containerd.image.name']!;
      execFileSync('bash', [join(root, 'scripts/build-image.sh'), '--out', again, '--ref', ref], { cwd: root, stdio: 'pipe', maxBuffer: 2 ** 26 });
      expect(manifestDigest(again)).toBe(manifestDigest(archive));
      expect(readFileSync(join(dirname(again), 'secretsync.cdx.json'), 'utf8')).toBe(readFileSync(sbomFile, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
