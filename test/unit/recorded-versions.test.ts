import { describe, expect, it } from 'vitest';
import { OWNER_ANNOTATION } from '../../src/api/names.js';
import type { ExternalSecret, ExternalSecretSpec } from '../../src/api/types.js';
import { recordedVersions } from '../../src/controllers/externalsecret/recorded-versions.js';
import type { KubeObject } from '../../src/kube/types.js';

const spec: ExternalSecretSpec = {
  secretStoreRef: { name: 'vault' },
  data: [
    { secretKey: 'user', remoteRef: { key: 'apps/db', property: 'user' } },
    { secretKey: 'password', remoteRef: { key: 'apps/db', property: 'password' } },
  ],
  dataFrom: [{ extract: { key: 'apps/common' } }],
};
const sources = [{ key: 'apps/db', version: '3' }, { key: 'apps/db', version: '3' }, { key: 'apps/common', version: '7' }];

function es(over: { spec?: Partial<ExternalSecretSpec>; sources?: Array<{ key: string; version?: string; expiresAt?: string }>; bound?: string } = {}): ExternalSecret {
  return {
    metadata: { name: 'es', namespace: 'ns' },
    spec: { ...spec, ...over.spec },
    status: { binding: { name: 'es', resourceVersion: over.bound ?? '41' }, sources: over.sources ?? sources },
  };
}

function secret(resourceVersion = '41', owner = 'es'): KubeObject {
  return { metadata: { name: 'es', namespace: 'ns', resourceVersion, annotations: { [OWNER_ANNOTATION]: owner } } };
}

describe('recordedVersions', () => {
  it('gives the version of each remote key when they alone decide the Secret', () => {
    expect(recordedVersions(es(), secret())).toEqual(new Map([['apps/db', '3'], ['apps/common', '7']]));
  });

  it('says nothing when the Secret changed since the sync, is missing, or is not ours', () => {
    expect(recordedVersions(es(), secret('42'))).toBeUndefined();
    expect(recordedVersions(es(), undefined)).toBeUndefined();
    expect(recordedVersions(es(), secret('41', 'other'))).toBeUndefined();
  });

  it('says nothing for a Merge or None target', () => {
    expect(recordedVersions(es({ spec: { target: { creationPolicy: 'Merge' } } }), secret())).toBeUndefined();
    expect(recordedVersions(es({ spec: { target: { creationPolicy: 'None' } } }), secret())).toBeUndefined();
  });

  it('says nothing when something besides the versions can change the Secret', () => {
    const pinned = { data: [{ secretKey: 'p', remoteRef: { key: 'apps/db', version: '3' } }], dataFrom: [{ extract: { key: 'apps/common' } }] };
    expect(recordedVersions(es({ spec: pinned }), secret())).toBeUndefined();
    expect(recordedVersions(es({ spec: { dataFrom: [{ extract: { key: 'apps/common', version: '7' } }] } }), secret())).toBeUndefined();
    expect(recordedVersions(es({ spec: { dataFrom: [{ extract: { key: 'apps/common' } }, { find: { path: 'apps' } }] } }), secret())).toBeUndefined();
    const fromConfigMap = { target: { template: { templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'k' }] } }] } } };
    expect(recordedVersions(es({ spec: fromConfigMap }), secret())).toBeUndefined();
    // Tags and custom metadata change without a new version of the value.
    const tags = { data: [{ secretKey: 'owner', remoteRef: { key: 'apps/db', property: 'owner', metadataPolicy: 'Fetch' as const } }], dataFrom: [{ extract: { key: 'apps/common' } }] };
    expect(recordedVersions(es({ spec: tags }), secret())).toBeUndefined();
    expect(recordedVersions(es({ spec: { dataFrom: [{ extract: { key: 'apps/common', metadataPolicy: 'Fetch' } }] } }), secret())).toBeUndefined();
    // A literal template is part of the spec: it cannot change behind our back.
    expect(recordedVersions(es({ spec: { target: { template: { templateFrom: [{ literal: 'x: {{ .user }}' }] } } } }), secret())).toBeDefined();
  });

  it('says nothing when a source has no version, an expiry date, or does not cover every key', () => {
    expect(recordedVersions(es({ sources: [{ key: 'apps/db' }, { key: 'apps/common', version: '7' }] }), secret())).toBeUndefined();
    expect(recordedVersions(es({ sources: [{ key: 'apps/db', version: '3' }, { key: 'apps/common', version: '7', expiresAt: '2030-01-01T00:00:00Z' }] }), secret())).toBeUndefined();
    expect(recordedVersions(es({ sources: [{ key: 'apps/db', version: '3' }] }), secret())).toBeUndefined();
    expect(recordedVersions(es({ sources: [...sources, { key: 'apps/db', version: '4' }] }), secret())).toBeUndefined();
    expect(recordedVersions(es({ sources: [...sources, { key: 'apps/other', version: '1' }] }), secret())).toBeUndefined();
  });
});
