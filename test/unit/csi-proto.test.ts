// The plugin's generated proto code (src/csi/proto) is what `make generate`
// makes today from the driver's published service.proto.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseMount } from '../../src/csi/attributes.js';

const root = join(import.meta.dirname, '../..');

describe('the CSI provider plugin', () => {
  it('src/csi/proto is what scripts/gen-csi-proto.ts makes from proto/secrets-store-csi-driver (run `make generate` if this fails)', async () => {
    await expect(promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'scripts/gen-csi-proto.ts'), '--check'], { cwd: root })).resolves.toBeDefined();
  }, 60_000);

  it('reads the driver\'s attributes: the Pod, its tokens, the file mode, and either an ExternalSecret or a store with objects', () => {
    const pod = { 'csi.storage.k8s.io/pod.name': 'p', 'csi.storage.k8s.io/pod.namespace': 'team-a', 'csi.storage.k8s.io/serviceAccount.name': 'app' };
    const byName = parseMount(JSON.stringify({ ...pod, externalSecret: 'db', 'csi.storage.k8s.io/serviceAccount.tokens': '{"vault":{"token":"t","expirationTimestamp":"2026-12-07T00:00:00Z"}}' }), '288');
    expect(byName).toMatchObject({ podNamespace: 'team-a', serviceAccount: 'app', mode: 288, source: { externalSecret: 'db' }, tokens: { vault: { token: 't' } } });
    const simple = parseMount(JSON.stringify({ ...pod, store: 'vault', objects: '- { key: a/b, property: p, path: x }' }), '');
    expect(simple).toMatchObject({ mode: 0o644, source: { store: 'vault', storeKind: 'SecretStore', objects: [{ key: 'a/b', property: 'p', path: 'x' }] } });
    expect(() => parseMount(JSON.stringify(pod), '420')).toThrow('name an ExternalSecret (externalSecret), or a store (store, storeKind) and objects');
    expect(() => parseMount(JSON.stringify({ ...pod, externalSecret: 'db', store: 'x' }), '420')).toThrow('cannot be combined');
    expect(() => parseMount(JSON.stringify({ externalSecret: 'db' }), '420')).toThrow('podInfoOnMount');
    expect(() => parseMount(JSON.stringify({ ...pod, store: 's', objects: '[]' }), '420')).toThrow('non-empty list');
    expect(() => parseMount(JSON.stringify({ ...pod, store: 's', storeKind: 'Other', objects: '- { key: a }' }), '420')).toThrow('neither SecretStore nor ClusterSecretStore');
  });
});
