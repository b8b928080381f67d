// The rules of taking a Secret over from External Secrets Operator, and the
// spacing of retakes while ESO still writes it back (the whole takeover runs
// against the real API server in test/integration/eso-cutover.test.ts).
import { describe, expect, it } from 'vitest';
import { ESO_CREATED_BY_LABEL, ESO_DATA_HASH_ANNOTATION, ESO_MANAGED_LABEL } from '../../src/api/eso.js';
import { Reason } from '../../src/api/reasons.js';
import { EsoRetakes } from '../../src/controllers/externalsecret/eso-retakes.js';
import { takeoverPatch, takeoverRefusal } from '../../src/controllers/externalsecret/eso-takeover.js';
import type { OwnerReference, Secret } from '../../src/kube/types.js';

const esoOwner: OwnerReference = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', name: 'app', uid: 'eso-uid', controller: true, blockOwnerDeletion: true };
const ours: OwnerReference = { apiVersion: 'secretsync.dev/v1alpha1', kind: 'ExternalSecret', name: 'app', uid: 'our-uid', controller: true, blockOwnerDeletion: true };

function esoSecret(extra: Partial<Secret['metadata']> = {}): Secret {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: {
      name: 'app-secret', namespace: 'team-a', uid: 'secret-uid', resourceVersion: '42',
      labels: { [ESO_MANAGED_LABEL]: 'true', [ESO_CREATED_BY_LABEL]: 'abc', team: 'a' },
      annotations: { [ESO_DATA_HASH_ANNOTATION]: 'h', note: 'kept' },
      ownerReferences: [esoOwner],
      managedFields: [
        { manager: 'externalsecrets.external-secrets.io/app', operation: 'Update', apiVersion: 'v1' },
        { manager: 'kubectl-label', operation: 'Update', apiVersion: 'v1' },
      ],
      ...extra,
    },
    data: { password: 'cHc=' },
  };
}

const desired: Secret = {
  apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
  metadata: { name: 'app-secret', namespace: 'team-a', labels: { 'secretsync.dev/managed': 'true' }, annotations: { 'secretsync.dev/data-hash': 'x', 'secretsync.dev/external-secret': 'app' }, ownerReferences: [ours] },
  data: { password: 'cHc=' },
};

describe('taking a Secret over from ESO', () => {
  it('is refused without the annotation, naming it and the runbook', () => {
    const refusal = takeoverRefusal(esoSecret(), false);
    expect(refusal?.reason).toBe(Reason.SecretNotOwned);
    expect(refusal?.message).toContain('secretsync.dev/adopt-external-secrets: "true"');
    expect(refusal?.message).toContain('docs/migrating-from-eso.md');
    expect(refusal?.retry).toBe(false);
  });

  it('is refused when something other than ESO\'s ExternalSecret controls the Secret', () => {
    const foreign = esoSecret({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'x', uid: 'd', controller: true }] });
    expect(takeoverRefusal(foreign, true)?.message).toContain('controlled by Deployment "x"');
    expect(takeoverRefusal(esoSecret(), true)).toBeUndefined();
    // Without ESO's label it is no takeover at all.
    expect(takeoverRefusal(esoSecret({ labels: { team: 'a' } }), true)?.reason).toBe(Reason.SecretNotOwned);
    // Orphaned by the garbage collector: the label alone.
    expect(takeoverRefusal(esoSecret({ ownerReferences: undefined }), true)).toBeUndefined();
  });

  it('is one conditional patch: ESO\'s marks and field manager go, other labels, annotations and managers stay, ours come', () => {
    const { ops, dataChanged, from } = takeoverPatch(esoSecret(), desired);
    expect(dataChanged).toBe(false);
    expect(from).toEqual(['ExternalSecret "app"', 'field manager externalsecrets.external-secrets.io/app']);
    const op = (path: string) => (ops as Array<{ op: string; path: string; value?: unknown }>).find((o) => o.path === path);
    expect(op('/metadata/uid')).toEqual({ op: 'test', path: '/metadata/uid', value: 'secret-uid' });
    expect(op('/metadata/resourceVersion')).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    expect(op('/metadata/labels')?.value).toEqual({ team: 'a', 'secretsync.dev/managed': 'true' });
    expect(op('/metadata/annotations')?.value).toEqual({ note: 'kept', 'secretsync.dev/data-hash': 'x', 'secretsync.dev/external-secret': 'app' });
    expect(op('/metadata/ownerReferences')?.value).toEqual([ours]);
    const managers = op('/metadata/managedFields')?.value as Array<{ manager: string; operation: string; fieldsV1?: Record<string, unknown> }>;
    expect(managers.map((m) => `${m.manager}/${m.operation}`)).toEqual(['kubectl-label/Update', 'secretsync/Update']);
    expect(managers[1]!.fieldsV1).toMatchObject({ 'f:data': { '.': {}, 'f:password': {} }, 'f:type': {}, 'f:metadata': { 'f:ownerReferences': { 'k:{"uid":"our-uid"}': { 'f:controller': {} } } } });
    expect(op('/data')?.value).toEqual({ password: 'cHc=' });
  });

  it('says when the data changes, and removes the owner list when nothing is left in it (Orphan)', () => {
    const orphan = { ...desired, metadata: { ...desired.metadata, ownerReferences: undefined }, data: { password: 'bmV3' } };
    const { ops, dataChanged } = takeoverPatch(esoSecret(), orphan);
    expect(dataChanged).toBe(true);
    expect(ops).toContainEqual({ op: 'remove', path: '/metadata/ownerReferences' });
  });
});

describe('retakes while ESO still writes back', () => {
  it('wait before the first, then twice as long each time, up to the cap', () => {
    const retakes = new EsoRetakes(1000, 8000);
    const key = 'team-a/app-secret';
    expect(retakes.check(key, 0)).toEqual({ due: false, at: 1000 });
    expect(retakes.check(key, 999).due).toBe(false);
    expect(retakes.check(key, 1000).due).toBe(true);
    const gaps: number[] = [];
    let now = 1000;
    for (let i = 0; i < 5; i++) {
      const at = retakes.retaken(key, now);
      gaps.push(at - now);
      now = at;
    }
    expect(gaps).toEqual([2000, 4000, 8000, 8000, 8000]);
    retakes.forget(key);
    expect(retakes.check(key, now).at).toBe(now + 1000);
  });
});
