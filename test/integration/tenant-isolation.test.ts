// A tenant controls one namespace and its SecretStores and ExternalSecrets,
// and attacks through them. One tenant's input cannot stop the others (the
// shipped operator runs as its own process: a pinned event loop would show as
// a process that neither syncs nor stops). The other attacks run against the
// operator with the shipped RBAC: each must fail with a reason, and leave
// every Secret it aimed at exactly as it was. The rest of the attack list is
// in docs/threat-model.md with the tests that cover it.
import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/client.js';
import { API_VERSION, Resources, type Secret } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, fakeStoreSpec, getES, getSecret, kube, kubeConfig, newNamespace, ready, spawnOperator, terminate,
  useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const EVIL_KEY = `${'a'.repeat(42)}b`;

describe('tenant isolation', () => {
  it('a catastrophic-backtracking regexp runs in linear time: other namespaces sync, the ExternalSecret says why, SIGTERM still stops', async () => {
    const evil = await newNamespace();
    const innocent = await newNamespace();
    await createStore(evil, 'fake', fakeStoreSpec([{ key: EVIL_KEY, value: 'x' }]));
    await createStore(innocent, 'fake', fakeStoreSpec([{ key: 'k', value: 'innocent value' }]));
    const op = spawnOperator(['--workers', '2']);
    await waitForStoreReady(evil, 'fake');
    await waitForStoreReady(innocent, 'fake');

    await createExternalSecret(evil, 'find', { secretStoreRef: { name: 'fake' }, dataFrom: [{ find: { name: { regexp: '^(a|a)*$' } } }] });
    await createExternalSecret(evil, 'rewrite', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ find: { name: { regexp: '^a' } }, rewrite: [{ regexp: { source: '^(a|a)*$', target: 'never' } }] }],
    });
    await createExternalSecret(evil, 'backref', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ find: { name: { regexp: '(a)\\1' } } }],
    });
    // Created after the hostile ones: it must not wait behind them.
    await createExternalSecret(innocent, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] });

    await waitForReady(innocent, 'es', 'True', undefined, 15_000);
    expect(decoded(await getSecret(innocent, 'es')).k).toBe('innocent value');
    // Matched (no match) in linear time: nothing found is a clear RemoteNotFound.
    const find = await waitForReady(evil, 'find', 'False', 'RemoteNotFound', 15_000);
    expect(ready(find)?.message).toBe('remote secret "find(name ^(a|a)*$)" not found: no remote secret matches');
    // The same pattern in a rewrite leaves the key alone, in linear time.
    await waitForReady(evil, 'rewrite', 'True', undefined, 15_000);
    expect(Object.keys(decoded(await getSecret(evil, 'rewrite')))).toEqual([EVIL_KEY]);
    // What RE2 cannot run in linear time is refused, with the reason.
    const backref = await waitForReady(evil, 'backref', 'False', 'InvalidData', 15_000);
    expect(ready(backref)?.message).toMatch(/^find\.name\.regexp is not a valid RE2 regular expression \(no backreferences or lookaround\)/);

    const { code, ms } = await terminate(op);
    expect(code, op.output.slice(-5).join('\n')).toBe(0);
    expect(ms).toBeLessThan(5000);
  }, 60_000);
});

describe('tenant attacks', () => {
  useOperator(['hijacked-value', 'css-value-v2', 'css-value-v3'], { asServiceAccount: true });

  it('object names with "/" or ".." are refused by the API server before the operator ever sees them', async () => {
    const ns = await newNamespace();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['templateFrom ConfigMap "../kube-system"', () => createExternalSecret(ns, 'a1', { secretStoreRef: { name: 's' }, target: { template: { templateFrom: [{ configMap: { name: '..', items: [{ key: 'k' }] } }] } }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] })],
      ['templateFrom Secret "other/creds"', () => createExternalSecret(ns, 'a2', { secretStoreRef: { name: 's' }, target: { template: { templateFrom: [{ secret: { name: 'other/creds', items: [{ key: 'k' }] } }] } }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] })],
      ['store ref "../s"', () => createExternalSecret(ns, 'a3', { secretStoreRef: { name: '../s' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] })],
      ['target name ".."', () => createExternalSecret(ns, 'a4', { secretStoreRef: { name: 's' }, target: { name: '..' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] })],
      ['credential secretRef ".."', () => createStore(ns, 'v1', { provider: { vault: { server: 'https://vault.example', auth: { tokenSecretRef: { name: '..', key: 't' } } } } })],
      ['serviceAccountRef "kube-system/default"', () => createStore(ns, 'v2', { provider: { vault: { server: 'https://vault.example', auth: { kubernetes: { role: 'r', serviceAccountRef: { name: 'kube-system/default' } } } } } })],
    ];
    for (const [what, attempt] of attempts) {
      const err = await attempt().then(() => undefined, (e: unknown) => e);
      expect(err, what).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status, what).toBe(422);
      expect((err as KubeApiError).message, what).toMatch(/should match|must match|Invalid value/);
    }
  });

  it('creationPolicy Merge cannot write into a service-account-token or a Helm release Secret of its own namespace', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k', value: 'hijacked-value' }]));
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: ns } } as never);
    const targets: Secret[] = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'release', namespace: ns, labels: { owner: 'helm', name: 'app' } }, type: 'helm.sh/release.v1', data: { release: Buffer.from('H4sI-release').toString('base64') } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'deployer-token', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'deployer' } }, type: 'kubernetes.io/service-account-token' },
    ];
    for (const target of targets) {
      const created = await kube().create<Secret>(Resources.Secret, target);
      await createExternalSecret(ns, `take-${target.metadata.name}`, { secretStoreRef: { name: 'fake' }, target: { name: target.metadata.name, creationPolicy: 'Merge' }, data: [{ secretKey: 'injected', remoteRef: { key: 'k' } }] });
      const es = await waitForReady(ns, `take-${target.metadata.name}`, 'False', 'SecretNotOwned');
      expect(ready(es)?.message).toContain(`is of type ${target.type}, which secretsync never merges keys into`);
      const after = (await getSecret(ns, target.metadata.name))!;
      expect(after.data?.injected).toBeUndefined();
      // Untouched by us (the token controller may have filled in the token; it is not our write).
      if (target.type === 'helm.sh/release.v1') expect(after.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    }
  });

  it('a ClusterSecretStore whose admission is revoked, even in the same update as a rotation, stops refreshing the Secret and says why', async () => {
    const ns = await newNamespace({ 'tenant-access': 'granted' });
    const name = `css-${ns}`;
    const store = (value: string, conditions: unknown[]) => ({ conditions, provider: { fake: { data: [{ key: 'k', value }] } } });
    const admitted = [{ namespaceSelector: { matchLabels: { 'tenant-access': 'granted' } } }];
    await kube().create(Resources.ClusterSecretStore, { apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name }, spec: store('css-value-v1', admitted) } as never);
    try {
      await createExternalSecret(ns, 'es', { secretStoreRef: { name, kind: 'ClusterSecretStore' }, refreshInterval: '1s', data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] });
      await waitForReady(ns, 'es');
      const synced = (await getSecret(ns, 'es'))!;
      expect(decoded(synced).k).toBe('css-value-v1');

      // The race: the admin's one update both excludes the namespace and rotates the value.
      await kube().mergePatch(Resources.ClusterSecretStore, undefined, name, { spec: store('css-value-v2', [{ namespaces: ['someone-else'] }]) });
      const refused = await waitForReady(ns, 'es', 'False', 'StoreNotAllowed');
      expect(ready(refused)?.message).toContain(`does not admit namespace "${ns}"`);
      expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(synced.metadata.resourceVersion);

      // Admitted again by label; then the label goes (the tenant's namespace relabelled) and the value rotates.
      await kube().mergePatch(Resources.ClusterSecretStore, undefined, name, { spec: { conditions: admitted } });
      await waitFor('the rotated value once admitted again', async () => decoded(await getSecret(ns, 'es')).k === 'css-value-v2', 20_000);
      await kube().mergePatch(Resources.Namespace, undefined, ns, { metadata: { labels: { 'tenant-access': null } } });
      await waitForReady(ns, 'es', 'False', 'StoreNotAllowed');
      const frozen = (await getSecret(ns, 'es'))!;
      await kube().mergePatch(Resources.ClusterSecretStore, undefined, name, { spec: store('css-value-v3', admitted) });
      // Three refresh intervals, and a forced sync the tenant asks for: nothing reaches the Secret.
      await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { 'secretsync.dev/force-sync': '1' } } });
      for (const deadline = Date.now() + 3_000; Date.now() < deadline; ) {
        expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(frozen.metadata.resourceVersion);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready(await getES(ns, 'es'))?.reason).toBe('StoreNotAllowed');
      expect(decoded(await getSecret(ns, 'es')).k).toBe('css-value-v2');
    } finally {
      await kube().delete(Resources.ClusterSecretStore, undefined, name);
    }
  });

  it('a store cannot have a token minted for an audience the API server accepts (the token would be a cluster credential)', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } } as never);
    const apiServer = new URL(kubeConfig().getCurrentCluster()!.server).origin;
    for (const [i, audience] of [apiServer, 'secretsync'].entries()) {
      await createStore(ns, `aud-${i}`, { provider: { vault: { server: 'http://127.0.0.1:9', auth: { kubernetes: { role: 'r', serviceAccountRef: { name: 'reader', audiences: ['vault', audience] } } } } } });
      const store = await waitFor(`store aud-${i} refused`, async () => {
        const got = await kube().get<{ status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } } & Secret>(Resources.SecretStore, ns, `aud-${i}`);
        return got.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
      });
      expect(store.message).toContain('include one the Kubernetes API server accepts; a token for it is never sent to a provider');
    }
  });
});
