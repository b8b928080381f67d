// The CRDs are the API's source of truth; these checks keep the generated
// TypeScript types and the two store kinds from drifting apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiReference, crdFileNames, describeCrd } from '../../scripts/describe-crds.js';
import { crdFiles, generateTypes } from '../../scripts/gen-types.js';

const load = (file: string) => parse(readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8')) as {
  spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: Record<string, Record<string, unknown>> } } }> };
};

function hasDefault(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Object.hasOwn(node, 'default')) return true;
  return Object.values(node).some(hasDefault);
}

describe('CRDs', () => {
  it('src/api/generated.ts matches the CRDs (run `make generate` if this fails)', () => {
    expect(readFileSync(new URL('../../src/api/generated.ts', import.meta.url), 'utf8')).toBe(generateTypes());
  });

  it.each(crdFiles())('the Helm chart ships %s unchanged (run `make generate` if this fails)', (file) => {
    const read = (dir: string) => readFileSync(new URL(`../../${dir}/${file}`, import.meta.url), 'utf8');
    expect(read('deploy/charts/secretsync/crds')).toBe(read('crds'));
  });

  it.each(crdFileNames())('every field of %s has a description (crds/descriptions.yaml), and the CRD carries the current text', (file) => {
    const { text, fields } = describeCrd(file);
    expect(fields.filter((f) => !f.description).map((f) => f.path)).toEqual([]);
    expect(readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8'), 'run make generate').toBe(text);
  });

  it('docs/api-reference.md is generated from the CRDs (run `make generate` if this fails)', () => {
    expect(readFileSync(new URL('../../docs/api-reference.md', import.meta.url), 'utf8')).toBe(apiReference());
  });

  it('SecretStore and ClusterSecretStore share one spec schema, except the conditions rule', () => {
    const ss = load('secretstores.yaml').spec.versions[0]!.schema.openAPIV3Schema.properties;
    const css = load('clustersecretstores.yaml').spec.versions[0]!.schema.openAPIV3Schema.properties;
    const { ['x-kubernetes-validations']: rules, ...ssSpec } = ss.spec!;
    expect(rules).toEqual([{ rule: '!has(self.conditions)', message: 'conditions are only allowed on a ClusterSecretStore' }]);
    expect(css.spec).toEqual(ssSpec);
    expect(css.status).toEqual(ss.status);
  });

  it.each(['externalsecrets.yaml', 'secretstores.yaml', 'clustersecretstores.yaml', 'clusterexternalsecrets.yaml'])('%s has no server-side defaults', (file) => {
    expect(hasDefault(load(file))).toBe(false);
  });
});
