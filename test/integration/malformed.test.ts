// The malformed-input corpus (test/corpus/malformed.json, made by
// test/corpus/generate.ts) applied to the real API server the way kubectl
// does (strict field validation): each manifest is either refused with a
// message naming what is wrong, or accepted and then given a Ready condition
// by the operator (False with a reason when it cannot sync). Afterwards the
// operator still syncs new work, and no refused sync left a partial Secret.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { KubeApiError } from '../../src/kube/client.js';
import { API_VERSION, Resources, type Condition, type KubeObject, type ResourceType } from '../../src/kube/types.js';
import type { Case } from '../corpus/generate.js';
import { schemaProblems } from '../../src/validation/schema.js';
import { createCredentialSecret, createExternalSecret, createStore, fakeStoreSpec, getSecret, kube, newNamespace, ready, startOperator, waitFor, waitForReady } from './harness.js';

const cases = JSON.parse(readFileSync(join(import.meta.dirname, '../corpus/malformed.json'), 'utf8')) as Case[];
const clusterStores: string[] = [];
afterAll(async () => {
  for (const name of clusterStores) await kube().delete(Resources.ClusterSecretStore, undefined, name).catch(() => undefined);
});

describe('malformed-input corpus', () => {
  it(`${cases.length} malformed manifests: refused with a readable message, or accepted and reported; the operator carries on`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const ns = await newNamespace();
    const op = await startOperator({ watchNamespace: ns });
    try {
      await createCredentialSecret(ns, 'token', { token: 'x' });
      await createStore(ns, 'fake', fakeStoreSpec([{ key: 'json', value: '{"password":"p","user":"u"}' }, { key: 'plain', value: 'v' }]));
      const refused: Array<[string, string]> = [];
      const disagreements: string[] = [];
      const accepted: Array<{ c: Case; type: ResourceType; name: string; namespace?: string }> = [];
      for (const [i, c] of cases.entries()) {
        const type = Resources[c.kind];
        const cluster = c.kind === 'ClusterSecretStore';
        const name = cluster ? `m-${ns}-${i}` : `m-${i}`;
        const spec = structuredClone(c.spec) as { target?: { name?: string } };
        // Each ExternalSecret writes a Secret of its own, so they do not fight over one.
        if (c.kind === 'ExternalSecret' && spec && typeof spec === 'object' && spec.target && typeof spec.target === 'object' && spec.target.name === 'out') spec.target.name = `out-${i}`;
        const body = { apiVersion: API_VERSION, kind: c.kind, metadata: { name, ...(cluster ? {} : { namespace: ns }) }, spec };
        // `secretsync validate` judges it offline first, from the same schemas and CEL rules.
        const offline = schemaProblems(body);
        try {
          await kube().request('POST', kube().path(type, cluster ? undefined : ns), { body, query: { fieldValidation: 'Strict' } });
          if (cluster) clusterStores.push(name);
          accepted.push({ c, type, name, namespace: cluster ? undefined : ns });
          if (offline.length > 0) disagreements.push(`${c.name}: accepted by the API server, refused offline: ${offline.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          refused.push([c.name, err.message]);
          if (offline.length === 0) disagreements.push(`${c.name}: refused by the API server (${err.message}), accepted offline`);
        }
      }
      // Offline validation and the API server agree on every manifest.
      expect(disagreements).toEqual([]);
      // A refusal says what is wrong: the field, the rule's message, or the unknown field.
      for (const [name, message] of refused) expect(message, name).toMatch(/spec|Unsupported value|Required value|Invalid value|unknown field|must|needs|exactly one|should/i);

      // Everything accepted gets a verdict for its current generation.
      const verdicts = new Map<string, string>();
      for (const a of accepted) {
        const verdict = await waitFor(`a verdict on ${a.c.name}`, async () => {
          const obj = await kube().get<KubeObject & { status?: { observedGeneration?: number; conditions?: Condition[] } }>(a.type, a.namespace, a.name);
          const c = ready(obj);
          return c && obj.status?.observedGeneration === obj.metadata.generation ? `${c.status} ${c.reason}` : undefined;
        }, 30_000, 100);
        verdicts.set(a.c.name, verdict);
      }
      const reported = [...verdicts.values()].filter((v) => v.startsWith('False')).length;
      // The schema-valid semantic failures of the hand-written part are reported, not synced.
      for (const name of ['store does not exist', 'remote key does not exist', 'invalid find regexp', 'backreference in find regexp', 'template that does not parse', 'credential from another namespace', 'vault nobody listens on']) {
        expect(verdicts.get(name), name).toMatch(/^False \w+/);
      }
      // A failed sync never left a partial Secret behind.
      for (const a of accepted) {
        if (a.c.kind !== 'ExternalSecret' || !verdicts.get(a.c.name)?.startsWith('False')) continue;
        const es = await kube().get<ExternalSecret>(Resources.ExternalSecret, ns, a.name);
        expect(await getSecret(ns, es.spec.target?.name ?? a.name), a.c.name).toBeUndefined();
      }
      // The operator carries on: new work syncs at once.
      await createExternalSecret(ns, 'after-the-storm', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'plain' } }] });
      await waitForReady(ns, 'after-the-storm');
      process.stdout.write(`malformed corpus: ${cases.length} tried, ${refused.length} refused by the API server, ${accepted.length} accepted: ${reported} reported Ready=False, ${accepted.length - reported} valid and synced\n`);
      // The docs quote these figures: they follow the corpus, or this fails.
      const threatModel = readFileSync(join(import.meta.dirname, '../../docs/threat-model.md'), 'utf8');
      expect(threatModel).toContain(`(${cases.length}-manifest corpus in \`test/corpus/\`: ${refused.length} refused, ${accepted.length} accepted`);
      expect(threatModel).toContain(`Malformed manifests: ${cases.length} tried, ${refused.length} refused by the API server with a readable message, ${accepted.length}\n  accepted`);
    } finally {
      await op.stop();
    }
  }, 180_000);
});
