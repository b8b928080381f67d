// `secretsync migrate` over the ESO corpus (test/corpus/eso: every field of
// ESO's v1 API for our four providers that can be taken over, templates,
// anchors, CRLF and a BOM; test/corpus/eso-unsupported: what cannot), held
// to reviewed expected outputs in test/corpus/*.expected/ and to the rule
// that what converts with exit 0 passes `secretsync validate`.
// UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../src/cli/migrate.js';
import { readManifests } from '../../src/cli/manifests.js';
import { checkManifest } from '../../src/cli/validate.js';
import { ESO_VERSIONS, GENERATOR_KINDS } from '../../src/cli/migrate/convert.js';

const corpus = join(import.meta.dirname, '../corpus');
const work = mkdtempSync(join(tmpdir(), 'migrate-corpus-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(input: string, outDir: string): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const code = await migrate([input], { outDir });
    return { code, stderr: lines.join('') };
  } finally {
    spy.mockRestore();
  }
}

function golden(name: string, actual: string): void {
  const path = join(corpus, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual);
  expect(actual, `${name} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}

describe.each([
  ['eso', 0],
  ['eso-unsupported', 1],
])('test/corpus/%s', (set, exitCode) => {
  const out = join(work, set);

  it('converts to the reviewed output, with the reviewed findings', async () => {
    const { code, stderr } = await run(join(corpus, set), out);
    expect(code, stderr).toBe(exitCode);
    golden(`${set}.expected/findings.txt`, stderr.replaceAll(corpus, 'test/corpus'));
    for (const file of readdirSync(out)) golden(`${set}.expected/${file}`, readFileSync(join(out, file), 'utf8'));
  });

  it('every document it converted passes validate', async () => {
    const { manifests, problems } = await readManifests([out]);
    expect(problems.map((p) => p.message)).toEqual(set === 'eso' ? [] : [expect.stringContaining('Unresolved alias')]);
    const ours = manifests.filter((m) => String(m.obj.apiVersion).startsWith('secretsync.dev/'));
    expect(ours.length).toBeGreaterThan(0);
    const errors = (await Promise.all(ours.map(checkManifest))).flat().filter((f) => f.severity === 'error');
    expect(errors).toEqual([]);
    // What migrate leaves on ESO, validate does not send to migrate.
    for (const m of manifests.filter((x) => String(x.obj.apiVersion).includes('external-secrets.io/'))) {
      const [finding] = await checkManifest(m);
      const convertible = ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret', 'PushSecret', ...GENERATOR_KINDS].includes(m.kind) && ESO_VERSIONS.includes(String(m.obj.apiVersion));
      expect(finding?.message, `${m.kind}/${m.name}`).toContain(convertible ? 'convert it with `secretsync migrate`' : 'secretsync has no equivalent yet');
    }
  });
});

describe('what the conversion leaves alone', () => {
  const lines = (file: string, dir: string) => readFileSync(join(dir, file), 'utf8').split('\n');

  it('only the lines a conversion changes differ: comments, flow maps, list indentation, alignment and other kinds stay byte for byte', () => {
    const before = lines('format.yaml', join(corpus, 'eso'));
    const after = lines('format.yaml', join(work, 'eso'));
    expect(after).toHaveLength(before.length);
    const changed = before.flatMap((line, i) => (line === after[i] ? [] : [[i + 1, after[i]]]));
    expect(changed).toEqual([
      [12, 'apiVersion: secretsync.dev/v1alpha1'],
      // The takeover annotation joins the flow map that is there.
      [16, '  annotations: {owner: "team-a", secretsync.dev/adopt-external-secrets: "true"}'],
      [21, '    remoteRef: {key: apps/db, property: user}'],
      [23, '    remoteRef: {key: apps/db, property: user}'],
    ]);
  });

  it('a BOM and CRLF line endings are written back as they came', () => {
    const after = readFileSync(join(work, 'eso', 'windows.yaml'));
    expect(after.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    // One line goes (engineVersion), two come (the takeover annotation under a new annotations map).
    expect(after.toString().split('\r\n').length).toBe(readFileSync(join(corpus, 'eso', 'windows.yaml')).toString().split('\r\n').length + 1);
    expect(after.toString()).not.toMatch(/[^\r]\n/);
  });

  it('a document that is refused is written back byte for byte', () => {
    const documents = (dir: string) => readFileSync(join(dir, 'unsupported.yaml'), 'utf8').split(/^---$/m);
    const before = documents(join(corpus, 'eso-unsupported'));
    const after = documents(join(work, 'eso-unsupported'));
    // vault-bare, the store other-mount reads from, is the one document that converts.
    const converted = before.findIndex((d) => d.includes('name: vault-bare'));
    expect(after.filter((_, i) => i !== converted)).toEqual(before.filter((_, i) => i !== converted));
  });
});
