// validate on the PushSecret and generator kinds: schema and CEL, then what
// the operator would refuse at run time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifests } from '../../src/cli/manifests.js';
import { checkManifest } from '../../src/cli/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'validate-kinds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function findings(yaml: string): Promise<string[]> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const { manifests } = await readManifests([file]);
  return (await Promise.all(manifests.map(checkManifest))).flat().map((f) => `${f.path ?? ''}: ${f.message}`);
}

const push = (data: string, extra = '') => `apiVersion: secretsync.dev/v1alpha1
kind: PushSecret
metadata: { name: p, namespace: a }
spec:
  secretStoreRefs: [{ name: vault }]
  selector: { secret: { name: s } }
${extra}  data:
${data}`;

describe('validate: PushSecret and generators', () => {
  it('a valid PushSecret and generators have no findings', async () => {
    expect(await findings(push('    - match: { secretKey: a, remoteRef: { remoteKey: x, property: a } }\n    - match: { secretKey: b, remoteRef: { remoteKey: x, property: b } }\n'))).toEqual([]);
    expect(await findings('apiVersion: secretsync.dev/v1alpha1\nkind: Password\nmetadata: { name: pw }\nspec: { length: 12, digits: 2 }\n')).toEqual([]);
  });

  it('two entries writing one remote key two ways are found before the operator finds them', async () => {
    const out = await findings(push('    - match: { secretKey: a, remoteRef: { remoteKey: x } }\n    - match: { secretKey: b, remoteRef: { remoteKey: x, property: b } }\n'));
    expect(out).toEqual(['spec.data: data[1]: "x" is written whole by one entry and by another entry too (the operator reports InvalidPushSecret)']);
  });

  it('schema and CEL: a whole-Secret entry with a property, two selectors, a template error, an impossible Password', async () => {
    expect((await findings(push('    - match: { remoteRef: { remoteKey: x, property: a } }\n'))).join('\n')).toContain('cannot set remoteRef.property');
    expect((await findings(push('    - match: { secretKey: a, remoteRef: { remoteKey: x } }\n', '  template: { data: { a: "{{ a | nosuchfilter }}" } }\n'))).join('\n')).toContain('spec.template.data["a"]');
    const two = push('    - match: { secretKey: a, remoteRef: { remoteKey: x } }\n').replace('selector: { secret: { name: s } }', 'selector: { secret: { name: s }, generatorRef: { kind: UUID, name: u } }');
    expect((await findings(two)).join('\n')).toContain('selector needs exactly one of secret or generatorRef');
    expect((await findings('apiVersion: secretsync.dev/v1alpha1\nkind: Password\nmetadata: { name: pw }\nspec: { length: 4, digits: 3, symbols: 2 }\n')).join('\n')).toContain('digits plus symbols cannot exceed length');
  });
});
