// The CRDs are the API's source of truth; these checks keep the generated
// TypeScript types and the two store kinds from drifting apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMap, parse, parseDocument, visit } from 'yaml';
import { apiReference, crdFileNames, describeCrd } from '../../scripts/describe-crds.js';
import { crdFiles, generateTypes } from '../../scripts/gen-types.js';
import { supportedProviders } from '../../src/providers/registry.js';

const load = (file: string) => parse(readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8')) as {
  spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: Record<string, Record<string, unknown>> } } }> };
};

function hasDefault(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Object.hasOwn(node, 'default')) return true;
  return Object.values(node).some(hasDefault);
}

/**
 * Anchors whose node carries a description, and that description. An alias
 * repeats the whole node, description included, so only descriptions that are
 * right wherever the node is repeated may sit on an anchored node; a field's
 * own description (which key, which selector) goes on its own node.
 */
const GENERIC_ANCHORED_DESCRIPTIONS: Record<string, string> = {
  secretKeySelector: 'A key of a Secret - name, key, and in a ClusterSecretStore the namespace it lives in.',
  serviceAccountRef: 'A ServiceAccount whose short-lived token the operator requests with TokenRequest.',
  remoteRef: 'The remote value.',
};

describe('CRDs', () => {
  it.each(crdFileNames())('%s: no alias repeats a description written for another field', (file) => {
    const doc = parseDocument(readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8'));
    const copied: string[] = [];
    visit(doc, {
      Alias: (_, alias) => {
        const target = alias.resolve(doc);
        const description = isMap(target) ? (target.toJSON() as { description?: string }).description : undefined;
        if (description !== undefined && GENERIC_ANCHORED_DESCRIPTIONS[alias.source] !== description) copied.push(`*${alias.source}: "${description}"`);
      },
    });
    expect(copied).toEqual([]);
  });

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

describe('the Helm chart', () => {
  // What a user reads in `helm search` and Artifact Hub: every provider the operator has, by its product's name.
  const PRODUCTS: Record<string, string | undefined> = {
    fake: undefined,
    vault: 'Vault/OpenBao',
    aws: 'AWS Secrets Manager',
    azurekv: 'Azure Key Vault',
    gcpsm: 'Google Secret Manager',
    kubernetes: 'Kubernetes Secrets of other namespaces or clusters',
    webhook: 'any JSON HTTP API (webhook)',
    conjur: 'Conjur',
  };

  it.each(supportedProviders())('Chart.yaml\'s description names the %s provider', (provider) => {
    expect(Object.keys(PRODUCTS), `name the ${provider} provider's product here`).toContain(provider);
    const chart = parse(readFileSync(new URL('../../deploy/charts/secretsync/Chart.yaml', import.meta.url), 'utf8')) as { description: string };
    if (PRODUCTS[provider]) expect(chart.description).toContain(PRODUCTS[provider]);
  });
});
