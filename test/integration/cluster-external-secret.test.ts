// ClusterExternalSecret against the real API server, under the shipped RBAC:
// an ExternalSecret stamped into the namespaces a selector or list picks,
// kept in step as namespaces come, go and change labels; status lists where
// it is and where it could not be; only what it made is ever changed or
// deleted; the garbage collector removes its ExternalSecrets with it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ClusterExternalSecret, ExternalSecret } from '../../src/api/types.js';
import { CLUSTER_EXTERNAL_SECRET_LABEL } from '../../src/controllers/clusterexternalsecret/reconciler.js';
import { API_VERSION, Resources, type KubeObject } from '../../src/kube/types.js';
import { createExternalSecret, decoded, getSecret, kube, kubectl, useOperator, waitFor } from './harness.js';

const SECRET_VALUE = 'ces-secret-value-8u9i0o';

async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  return name;
}

const relabel = (name: string, labels: Record<string, string | null>) => kube().mergePatch(Resources.Namespace, undefined, name, { metadata: { labels } });
const esIn = (ns: string, name: string) => kube().getOrUndefined<ExternalSecret>(Resources.ExternalSecret, ns, name);
const ces = (name: string) => kube().get<ClusterExternalSecret>(Resources.ClusterExternalSecret, undefined, name);

describe('ClusterExternalSecret (shipped RBAC)', () => {
  useOperator([SECRET_VALUE], { asServiceAccount: true });

  it('stamps its ExternalSecret into the selected and listed namespaces and follows labels, new namespaces and spec changes; a foreign ExternalSecret is reported, never touched; deleting it removes what it made', async () => {
    const id = randomBytes(3).toString('hex');
    const team = `team-${id}`;
    const store = `ces-store-${id}`;
    await kube().create(Resources.ClusterSecretStore, { apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name: store }, spec: { provider: { fake: { data: [{ key: 'db', value: SECRET_VALUE }, { key: 'db2', value: 'second' }] } } } } as KubeObject);
    const a = await namespace(`ces-a-${id}`, { team });
    const b = await namespace(`ces-b-${id}`, { team });
    const c = await namespace(`ces-c-${id}`);
    const listed = await namespace(`ces-d-${id}`);
    const foreign = await namespace(`ces-e-${id}`, { team });
    // Someone else's ExternalSecret of the same name: left alone.
    await createExternalSecret(foreign, 'shared', { secretStoreRef: { name: store, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'mine', remoteRef: { key: 'db2' } }] });
    const name = `shared-${id}`;
    await kube().create(Resources.ClusterExternalSecret, {
      apiVersion: API_VERSION,
      kind: 'ClusterExternalSecret',
      metadata: { name },
      spec: {
        externalSecretName: 'shared',
        externalSecretMetadata: { labels: { app: 'billing' }, annotations: { owner: 'platform' } },
        namespaceSelectors: [{ matchLabels: { team } }],
        namespaces: [listed],
        externalSecretSpec: { secretStoreRef: { name: store, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }] },
      },
    } as KubeObject);
    const statusIs = (provisioned: string[], failed: string[] = []) =>
      waitFor(`provisioned ${provisioned.join(',')}`, async () => {
        const s = (await ces(name)).status;
        const ok = JSON.stringify(s?.provisionedNamespaces ?? []) === JSON.stringify([...provisioned].sort()) && JSON.stringify((s?.failedNamespaces ?? []).map((f) => f.namespace)) === JSON.stringify(failed);
        return ok ? s : undefined;
      }, 20_000);

    let status = await statusIs([a, b, listed], [foreign]);
    expect(status.failedNamespaces![0]!.reason).toContain('was not made by this ClusterExternalSecret');
    expect(status.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NamespacesFailed' });
    for (const ns of [a, b, listed]) {
      const es = (await esIn(ns, 'shared'))!;
      expect(es.metadata.labels).toMatchObject({ app: 'billing', [CLUSTER_EXTERNAL_SECRET_LABEL]: name });
      expect(es.metadata.annotations?.owner).toBe('platform');
      await waitFor(`the Secret in ${ns}`, async () => decoded(await getSecret(ns, 'shared')).password === SECRET_VALUE);
    }
    expect(await esIn(c, 'shared')).toBeUndefined();
    expect((await esIn(foreign, 'shared'))!.spec.data![0]!.secretKey).toBe('mine');

    // c gains the label, a loses it, a new labelled namespace appears: the set follows.
    await relabel(c, { team });
    await relabel(a, { team: null });
    const late = await namespace(`ces-f-${id}`, { team });
    status = await statusIs([b, c, listed, late], [foreign]);
    await waitFor('the ExternalSecret gone from a', async () => (await esIn(a, 'shared')) === undefined);
    // The foreign one is released: its namespace leaves the selection, and it stays.
    await relabel(foreign, { team: null });
    status = await statusIs([b, c, listed, late]);
    expect(status.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Provisioned' });
    expect(await esIn(foreign, 'shared')).toBeDefined();

    // A spec change reaches every ExternalSecret.
    await kube().mergePatch(Resources.ClusterExternalSecret, undefined, name, { spec: { externalSecretSpec: { secretStoreRef: { name: store, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'password', remoteRef: { key: 'db2' } }] } } });
    for (const ns of [b, c, listed, late]) await waitFor(`the new value in ${ns}`, async () => decoded(await getSecret(ns, 'shared')).password === 'second', 20_000);

    // Deleted: the garbage collector removes the ExternalSecrets it made (owner references), and only those.
    await kube().delete(Resources.ClusterExternalSecret, undefined, name);
    for (const ns of [b, c, listed, late]) await waitFor(`the ExternalSecret gone from ${ns}`, async () => (await esIn(ns, 'shared')) === undefined, 30_000);
    expect(await esIn(foreign, 'shared')).toBeDefined();
    for (const ns of [a, b, c, listed, foreign, late]) await kube().delete(Resources.Namespace, undefined, ns);
    await kube().delete(Resources.ClusterSecretStore, undefined, store);
  });

  it('the API server refuses one that selects nothing, and one whose ExternalSecret spec is malformed', async () => {
    const refused = async (spec: object) => kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: API_VERSION, kind: 'ClusterExternalSecret', metadata: { name: 'refused' }, spec }));
    const noSelection = await refused({ externalSecretSpec: { secretStoreRef: { name: 's' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } });
    expect(noSelection.code).not.toBe(0);
    expect(noSelection.stderr).toContain('needs namespaceSelector, namespaceSelectors or namespaces');
    const badSpec = await refused({ namespaces: ['x'], externalSecretSpec: { secretStoreRef: { name: 's' }, target: { deletionPolicy: 'Delete', creationPolicy: 'Merge' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } });
    expect(badSpec.code).not.toBe(0);
    expect(badSpec.stderr).toContain('deletionPolicy Delete requires target.creationPolicy Owner');
  });
});
