// ExternalSecret -> Secret against the real API server: what gets written,
// status, events, refresh without writes, drift, policies.
import { describe, expect, it } from 'vitest';
import { HASH_ANNOTATION, MANAGED_LABEL } from '../../src/api/names.js';
import { Resources, type Secret } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, events, fakeStoreSpec, getES, getSecret, kube, newNamespace, ready,
  useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

useOperator();

const DB = JSON.stringify({ username: 'app', password: 's3cr3t-db-password', nested: { host: 'db.internal' } });

async function storeWithData(ns: string) {
  await createStore(ns, 'fake', fakeStoreSpec([
    { key: 'apps/db', value: DB, version: '1' },
    { key: 'apps/api-key', value: 'api-key-value-1', version: '1' },
    { key: 'apps/api-key', value: 'api-key-value-2', version: '2' },
  ]));
  await waitForStoreReady(ns, 'fake');
}

describe('ExternalSecret sync', () => {
  it('writes the Secret with data, dataFrom, template metadata, ownership and status', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'app', {
      secretStoreRef: { name: 'fake' },
      refreshInterval: '1h',
      target: { name: 'app-creds', template: { type: 'kubernetes.io/basic-auth', metadata: { labels: { team: 'a' }, annotations: { note: 'x' } } } },
      data: [
        { secretKey: 'password', remoteRef: { key: 'apps/db', property: 'password' } },
        { secretKey: 'host', remoteRef: { key: 'apps/db', property: 'nested.host' } },
        { secretKey: 'old-api-key', remoteRef: { key: 'apps/api-key', version: '1' } },
        { secretKey: 'api-key', remoteRef: { key: 'apps/api-key' } },
      ],
      dataFrom: [{ extract: { key: 'apps/db' } }],
    });
    const es = await waitForReady(ns, 'app');
    const secret = (await getSecret(ns, 'app-creds'))!;
    expect(decoded(secret)).toEqual({
      username: 'app',
      password: 's3cr3t-db-password',
      nested: '{"host":"db.internal"}',
      host: 'db.internal',
      'old-api-key': 'api-key-value-1',
      'api-key': 'api-key-value-2',
    });
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    expect(secret.metadata.labels).toMatchObject({ team: 'a', [MANAGED_LABEL]: 'true' });
    expect(secret.metadata.annotations?.note).toBe('x');
    expect(secret.metadata.annotations?.[HASH_ANNOTATION]).toMatch(/^hmac-sha256:/);
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ExternalSecret', name: 'app', uid: es.metadata.uid, controller: true })]);

    expect(ready(es)).toMatchObject({ status: 'True', reason: 'SecretSynced' });
    expect(es.status?.binding).toEqual({ name: 'app-creds', resourceVersion: secret.metadata.resourceVersion });
    expect(es.status?.observedGeneration).toBe(es.metadata.generation);
    expect(es.status?.syncedResourceVersion).toMatch(/^1-/);
    // The store's beat: between a quarter and a whole refreshInterval (1h) away.
    const next = Date.parse(es.status!.nextRefreshTime!) - Date.parse(es.status!.refreshTime!);
    expect(next).toBeGreaterThanOrEqual(3_600_000 / 4);
    expect(next).toBeLessThanOrEqual(3_600_000);
    expect(es.status?.sources).toEqual(expect.arrayContaining([{ key: 'apps/db', version: '1' }, { key: 'apps/api-key', version: '2' }]));
    expect(JSON.stringify(es.status)).not.toContain('s3cr3t');
    await waitFor('Created event', async () => (await events(ns, 'app')).some((e) => e.reason === 'Created'));
  });

  it('a refresh with nothing changed writes nothing; a change is picked up', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'fast', { secretStoreRef: { name: 'fake' }, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    const first = await waitForReady(ns, 'fast');
    const secretBefore = (await getSecret(ns, 'fast'))!;
    // Two more refreshes happen (refreshTime moves on) ...
    await waitFor('two refreshes', async () => {
      const es = await getES(ns, 'fast');
      return Date.parse(es.status!.refreshTime!) >= Date.parse(first.status!.refreshTime!) + 2000;
    });
    // ... without touching the Secret.
    expect((await getSecret(ns, 'fast'))!.metadata.resourceVersion).toBe(secretBefore.metadata.resourceVersion);

    // The remote value changes: the next refresh writes it.
    await kube().mergePatch(Resources.SecretStore, ns, 'fake', {
      spec: fakeStoreSpec([{ key: 'apps/api-key', value: 'rotated-value', version: '3' }]),
    });
    await waitFor('rotated value', async () => decoded(await getSecret(ns, 'fast')).k === 'rotated-value');
    expect((await getES(ns, 'fast')).status?.sources).toEqual([{ key: 'apps/api-key', version: '3' }]);
  });

  it('creates the Secret with one POST, and later drops a key the spec no longer asks for', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'shrink', { secretStoreRef: { name: 'fake' }, data: [
      { secretKey: 'password', remoteRef: { key: 'apps/db', property: 'password' } },
      { secretKey: 'api-key', remoteRef: { key: 'apps/api-key' } },
    ] });
    const es = await waitForReady(ns, 'shrink');
    const created = (await getSecret(ns, 'shrink'))!;
    expect(created.metadata.managedFields?.map((m) => [m.manager, m.operation])).toEqual([['secretsync', 'Update']]);
    expect(es.status?.binding).toEqual({ name: 'shrink', resourceVersion: created.metadata.resourceVersion });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'shrink', { spec: { data: [{ secretKey: 'password', remoteRef: { key: 'apps/db', property: 'password' } }] } });
    await waitFor('api-key removed', async () => Object.keys(decoded(await getSecret(ns, 'shrink'))).join() === 'password');
    // Our create was taken over for server-side apply: one Apply entry, no Update left behind.
    expect((await getSecret(ns, 'shrink'))!.metadata.managedFields?.map((m) => [m.manager, m.operation])).toEqual([['secretsync', 'Apply']]);
  });

  it('restores a Secret that a user edits or deletes', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'drift', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    await waitForReady(ns, 'drift');
    await kube().mergePatch(Resources.Secret, ns, 'drift', { data: { k: Buffer.from('tampered').toString('base64') } });
    await waitFor('edit reverted', async () => decoded(await getSecret(ns, 'drift')).k === 'api-key-value-2');
    const uid = (await getSecret(ns, 'drift'))!.metadata.uid;
    await kube().delete(Resources.Secret, ns, 'drift');
    await waitFor('Secret recreated', async () => {
      const s = await getSecret(ns, 'drift');
      return s && s.metadata.uid !== uid && decoded(s).k === 'api-key-value-2';
    });
  });

  it('creationPolicy Orphan keeps the Secret after the ExternalSecret goes; Owner lets it be collected', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    const data = [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }];
    await createExternalSecret(ns, 'orphan', { secretStoreRef: { name: 'fake' }, target: { creationPolicy: 'Orphan' }, data });
    await createExternalSecret(ns, 'owned', { secretStoreRef: { name: 'fake' }, target: { creationPolicy: 'Owner' }, data });
    await waitForReady(ns, 'orphan');
    await waitForReady(ns, 'owned');
    expect((await getSecret(ns, 'orphan'))!.metadata.ownerReferences).toBeUndefined();
    await kube().delete(Resources.ExternalSecret, ns, 'orphan');
    await kube().delete(Resources.ExternalSecret, ns, 'owned');
    await waitFor('owned Secret garbage-collected', async () => (await getSecret(ns, 'owned')) === undefined, 30_000);
    expect(await getSecret(ns, 'orphan')).toBeDefined();
  });

  it('creationPolicy Merge adds our keys to an existing Secret and keeps theirs', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'merge-missing', { secretStoreRef: { name: 'fake' }, target: { creationPolicy: 'Merge' }, data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    const failed = await waitForReady(ns, 'merge-missing', 'False', 'SecretMissing');
    expect(ready(failed)?.message).toContain('needs an existing Secret');

    await kube().create<Secret>(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared', namespace: ns }, type: 'Opaque', data: { theirs: Buffer.from('keep-me').toString('base64') } });
    await createExternalSecret(ns, 'merge', { secretStoreRef: { name: 'fake' }, target: { name: 'shared', creationPolicy: 'Merge' }, data: [{ secretKey: 'ours', remoteRef: { key: 'apps/api-key' } }] });
    await waitForReady(ns, 'merge');
    const merged = (await getSecret(ns, 'shared'))!;
    expect(decoded(merged)).toEqual({ theirs: 'keep-me', ours: 'api-key-value-2' });
    expect(merged.metadata.ownerReferences).toBeUndefined();
  });

  it('creationPolicy None writes nothing; immutable writes an immutable Secret', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    await createExternalSecret(ns, 'none', { secretStoreRef: { name: 'fake' }, target: { creationPolicy: 'None' }, data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    await createExternalSecret(ns, 'frozen', { secretStoreRef: { name: 'fake' }, target: { immutable: true }, data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    const none = await waitForReady(ns, 'none');
    expect(none.status?.binding).toBeUndefined();
    expect(await getSecret(ns, 'none')).toBeUndefined();
    const frozen = await waitForReady(ns, 'frozen');
    expect((await getSecret(ns, 'frozen'))!.immutable).toBe(true);
    expect(frozen.status?.nextRefreshTime).toBeUndefined();
  });

  it('refreshPolicy CreatedOnce and OnChange do not refresh on a timer', async () => {
    const ns = await newNamespace();
    await storeWithData(ns);
    for (const refreshPolicy of ['CreatedOnce', 'OnChange'] as const) {
      await createExternalSecret(ns, refreshPolicy.toLowerCase(), { secretStoreRef: { name: 'fake' }, refreshPolicy, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }] });
    }
    const once = await waitForReady(ns, 'createdonce');
    const onChange = await waitForReady(ns, 'onchange');
    expect(once.status?.nextRefreshTime).toBeUndefined();
    expect(onChange.status?.nextRefreshTime).toBeUndefined();
    // A spec change re-syncs OnChange.
    await kube().mergePatch(Resources.SecretStore, ns, 'fake', { spec: fakeStoreSpec([{ key: 'apps/api-key', value: 'v2', version: '2' }, { key: 'other', value: 'o' }]) });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'onchange', { spec: { data: [{ secretKey: 'k', remoteRef: { key: 'apps/api-key' } }, { secretKey: 'o', remoteRef: { key: 'other' } }] } });
    await waitFor('OnChange re-synced', async () => decoded(await getSecret(ns, 'onchange')).o === 'o');
    expect(decoded(await getSecret(ns, 'createdonce')).k).toBe('api-key-value-2');
  });

  it('schedules the refresh before a reported expiry', async () => {
    const ns = await newNamespace();
    const expiresAt = new Date(Date.now() + 3 * 60_000).toISOString();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'lease', value: 'short-lived', version: 'l1', expiresAt }]));
    await createExternalSecret(ns, 'leased', { secretStoreRef: { name: 'fake' }, refreshInterval: '24h', data: [{ secretKey: 'k', remoteRef: { key: 'lease' } }] });
    const es = await waitForReady(ns, 'leased');
    const next = Date.parse(es.status!.nextRefreshTime!);
    expect(next).toBeLessThan(Date.parse(expiresAt));
    expect(next).toBeGreaterThan(Date.parse(expiresAt) - 2 * 60_000);
    expect(es.status?.sources).toEqual([{ key: 'lease', version: 'l1', expiresAt: new Date(expiresAt).toISOString() }]);
  });
});
