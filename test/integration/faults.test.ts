// Semantic problems: each leaves existing Secrets untouched, shows Ready=False
// with a reason and readable message, records a Warning Event, and never
// reveals a secret value anywhere.
import { describe, expect, it, onTestFinished } from 'vitest';
import { API_VERSION, Resources, type Secret } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, events, fakeStoreSpec, getES, getSecret, kube, newNamespace, ready,
  startOperator, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const VALUE = 'hunter2-very-secret-value';
// Nothing the operator logs during these tests contains the value.
useOperator([VALUE]);

async function expectNoValueLeak(ns: string, name: string) {
  const es = await getES(ns, name);
  expect(JSON.stringify(es.status)).not.toContain(VALUE);
  for (const e of await events(ns, name)) expect(e.message).not.toContain(VALUE);
}

async function waitForWarning(ns: string, name: string, reason: string) {
  return waitFor(`Warning ${reason}`, async () => (await events(ns, name)).find((e) => e.type === 'Warning' && e.reason === reason));
}

describe('faults', () => {
  it('a store that does not exist: StoreNotFound, then syncs once it is created', async () => {
    const ns = await newNamespace();
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'later' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    const es = await waitForReady(ns, 'es', 'False', 'StoreNotFound');
    expect(ready(es)?.message).toBe(`SecretStore "later" not found in namespace "${ns}"`);
    await waitForWarning(ns, 'es', 'StoreNotFound');
    await createStore(ns, 'later', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await waitForReady(ns, 'es');
  });

  it('a SecretStore in another namespace cannot be used', async () => {
    const other = await newNamespace();
    const ns = await newNamespace();
    await createStore(other, 'theirs', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'theirs', kind: 'SecretStore' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    await waitForReady(ns, 'es', 'False', 'StoreNotFound');
    expect(await getSecret(ns, 'es')).toBeUndefined();
  });

  it('a ClusterSecretStore whose conditions exclude the namespace: StoreNotAllowed, until the namespace is labelled', async () => {
    const ns = await newNamespace();
    const name = `css-${ns}`;
    await kube().create(Resources.ClusterSecretStore, {
      apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name },
      spec: { conditions: [{ namespaceSelector: { matchLabels: { 'secrets/allowed': 'yes' } } }], provider: { fake: { data: [{ key: 'a', value: VALUE }] } } },
    } as never);
    try {
      await createExternalSecret(ns, 'es', { secretStoreRef: { name, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
      const es = await waitForReady(ns, 'es', 'False', 'StoreNotAllowed');
      expect(ready(es)?.message).toContain(`does not admit namespace "${ns}"`);
      await kube().mergePatch(Resources.Namespace, undefined, ns, { metadata: { labels: { 'secrets/allowed': 'yes' } } });
      await waitForReady(ns, 'es');
      expect(decoded(await getSecret(ns, 'es')).k).toBe(VALUE);
    } finally {
      await kube().delete(Resources.ClusterSecretStore, undefined, name);
    }
  });

  it('a missing remote key leaves the existing Secret untouched', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'k', remoteRef: { key: 'a' } }, { secretKey: 'm', remoteRef: { key: 'does/not/exist' } }] } });
    const es = await waitForReady(ns, 'es', 'False', 'RemoteNotFound');
    expect(ready(es)?.message).toBe('remote secret "does/not/exist" not found');
    await waitForWarning(ns, 'es', 'RemoteNotFound');
    const after = (await getSecret(ns, 'es'))!;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    await expectNoValueLeak(ns, 'es');
  });

  it('a missing JSON property is a clear error without the value', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'json', value: JSON.stringify({ user: VALUE }) }, { key: 'plain', value: VALUE }]));
    await createExternalSecret(ns, 'prop', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'json', property: 'password' } }] });
    await createExternalSecret(ns, 'notjson', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'plain', property: 'password' } }] });
    expect(ready(await waitForReady(ns, 'prop', 'False', 'RemoteNotFound'))?.message).toBe('remote secret "json" not found: property "password" not found');
    await waitForReady(ns, 'notjson', 'False', 'RemoteNotFound');
    await expectNoValueLeak(ns, 'prop');
    await expectNoValueLeak(ns, 'notjson');
  });

  it('a target Secret that exists and is not ours is left alone', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await kube().create<Secret>(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'precious', namespace: ns }, data: { mine: Buffer.from('original').toString('base64') } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, target: { name: 'precious' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    const es = await waitForReady(ns, 'es', 'False', 'SecretNotOwned');
    expect(ready(es)?.message).toContain('already exists and is not managed by secretsync');
    const secret = (await getSecret(ns, 'precious'))!;
    expect(decoded(secret)).toEqual({ mine: 'original' });
    expect(secret.metadata.labels).toBeUndefined();
  });

  it('two ExternalSecrets cannot own one Secret', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await createExternalSecret(ns, 'first', { secretStoreRef: { name: 'fake' }, target: { name: 'one' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    await waitForReady(ns, 'first');
    await createExternalSecret(ns, 'second', { secretStoreRef: { name: 'fake' }, target: { name: 'one' }, data: [{ secretKey: 'other', remoteRef: { key: 'a' } }] });
    expect(ready(await waitForReady(ns, 'second', 'False', 'SecretNotOwned'))?.message).toBe('Secret "one" is managed by ExternalSecret "first"');
    expect(Object.keys(decoded(await getSecret(ns, 'one')))).toEqual(['k']);
  });

  it('a result over 1 MiB is refused before any write, with its size', async () => {
    const ns = await newNamespace();
    const big = 'x'.repeat(600 * 1024);
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'big1', value: big }, { key: 'big2', value: big }, { key: 'small', value: VALUE }]));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 's', remoteRef: { key: 'small' } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', {
      spec: { data: [{ secretKey: 'a', remoteRef: { key: 'big1' } }, { secretKey: 'b', remoteRef: { key: 'big2' } }] },
    });
    const es = await waitForReady(ns, 'es', 'False', 'SecretTooLarge');
    expect(ready(es)?.message).toBe(`the Secret would be ${2 * 600 * 1024 + 2} bytes, over the 1 MiB (1048576 bytes) limit`);
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('a store that fails validation is not Ready and its ExternalSecrets wait without calling the provider', async () => {
    const ns = await newNamespace();
    // An operator of its own for this namespace, so its call count is this test's alone.
    const scoped = await startOperator({ watchNamespace: ns });
    onTestFinished(() => scoped.stop());
    const fakeCalls = () => scoped.operator.metrics.total(scoped.operator.metrics.providerCalls, { provider: 'fake' });
    const callsBefore = await fakeCalls();
    await createStore(ns, 'broken', fakeStoreSpec([{ key: 'a', value: VALUE, version: '1' }, { key: 'a', value: 'other', version: '1' }]));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'broken' }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
    await waitForReady(ns, 'es', 'False', 'StoreNotReady');
    // The store's own reason once it has been checked (before that the ExternalSecret just waits).
    await waitFor('store problem on the ExternalSecret', async () => (ready(await getES(ns, 'es'))?.message ?? '').includes('fake.data[1] repeats key "a" version "1"'));
    expect(await fakeCalls()).toBe(callsBefore);
    // Fixing the store lets the ExternalSecret sync without being touched.
    await kube().mergePatch(Resources.SecretStore, ns, 'broken', { spec: fakeStoreSpec([{ key: 'a', value: VALUE }]) });
    await waitForReady(ns, 'es');
    expect(await fakeCalls()).toBeGreaterThan(callsBefore);
  });

  it('deletionPolicy Delete removes the Secret when the remote secrets are gone; Retain keeps it', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await waitForStoreReady(ns, 'fake');
    for (const deletionPolicy of ['Delete', 'Retain'] as const) {
      await createExternalSecret(ns, deletionPolicy.toLowerCase(), { secretStoreRef: { name: 'fake' }, refreshInterval: '1s', target: { deletionPolicy }, data: [{ secretKey: 'k', remoteRef: { key: 'a' } }] });
      await waitForReady(ns, deletionPolicy.toLowerCase());
    }
    await kube().mergePatch(Resources.SecretStore, ns, 'fake', { spec: fakeStoreSpec([]) });
    await waitForReady(ns, 'delete', 'False', 'SecretDeleted');
    await waitFor('Secret deleted', async () => (await getSecret(ns, 'delete')) === undefined);
    await waitForReady(ns, 'retain', 'False', 'RemoteNotFound');
    expect(decoded(await getSecret(ns, 'retain')).k).toBe(VALUE);
  });

  it('refuses to write a service-account-token Secret', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: VALUE }]));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, target: { template: { type: 'kubernetes.io/service-account-token' } }, data: [{ secretKey: 'token', remoteRef: { key: 'a' } }] });
    expect(ready(await waitForReady(ns, 'es', 'False', 'InvalidData'))?.message).toContain('refused');
    expect(await getSecret(ns, 'es')).toBeUndefined();
  });
});
