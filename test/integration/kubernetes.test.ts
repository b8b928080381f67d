// The kubernetes provider against the real kube-apiserver. The "remote"
// cluster is the same API server, reached as another one would be (its
// address and CA named in the store, or in a kubeconfig), and namespaces
// with their own ServiceAccounts and RBAC stand for other teams: a second
// control plane would cost another etcd and API server in every test run
// for nothing these tests could not see here. Covered: the shared
// conformance suite (through a counting proxy in front of the API server),
// every auth mode, find by labels and name, PushSecret, the tenancy refusals
// (a tenant store never reads through the operator's identity), and the
// refresh by watch, measured out to 100 namespaces.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSecretStore, PushSecret, SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { API_VERSION, Resources, type Secret } from '../../src/kube/types.js';
import { kubernetesProvider } from '../../src/providers/kubernetes/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { startKubeProxy, type KubeProxy } from '../support/kube-proxy.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getSecret, kube, kubeConfig, kubectl, newNamespace, ready, stateDir,
  startOperator, useOperator, waitFor, waitForReady, type TestOperator,
} from './harness.js';

const SECRET_VALUE = 'k8s-secret-value-3e4r';
const apiServer = () => kubeConfig().getCurrentCluster()!.server;
const apiCa = () => Buffer.from(kubeConfig().getCurrentCluster()!.caData!, 'base64').toString('utf8');

async function createNamespace(name: string): Promise<void> {
  await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

async function putSecret(namespace: string, name: string, data: Record<string, string>, labels?: Record<string, string>): Promise<string> {
  const body: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
  const existing = await kube().getOrUndefined<Secret>(Resources.Secret, namespace, name);
  const written = existing
    ? await kube().request<Secret>('PUT', kube().path(Resources.Secret, namespace, name), { body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } } })
    : await kube().create<Secret>(Resources.Secret, body);
  return written.metadata.resourceVersion!;
}

/** RBAC: `subject` may `verbs` Secrets in `namespace` (a Role and its RoleBinding there). */
async function grant(namespace: string, name: string, subject: { kind: 'ServiceAccount'; name: string; namespace: string } | { kind: 'User'; name: string }, verbs: string[]): Promise<void> {
  const doc = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ${name}, namespace: ${namespace}}
rules: [{apiGroups: [""], resources: [secrets], verbs: [${verbs.join(', ')}]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${name}, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${name}}
subjects: [${JSON.stringify(subject.kind === 'User' ? { ...subject, apiGroup: 'rbac.authorization.k8s.io' } : subject)}]
`;
  const applied = await kubectl(['apply', '-f', '-'], doc);
  if (applied.code !== 0) throw new Error(applied.stderr);
}

async function serviceAccount(namespace: string, name: string): Promise<void> {
  await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
}

/** A plain value is kept under the key "value"; a JSON object spreads into the Secret's keys (as Vault's KV does). */
function asData(value: string): Record<string, string> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    }
  } catch {
    // plain
  }
  return { value };
}

describe('kubernetes conformance', () => {
  const run = Date.now().toString(36);
  const remote = `k8s-conf-${run}`;
  const home = `k8s-conf-home-${run}`;
  let proxy: KubeProxy;
  beforeAll(async () => {
    await createNamespace(remote);
    await createNamespace(home);
    await serviceAccount(home, 'reader');
    await serviceAccount(home, 'nobody');
    await grant(remote, 'reader', { kind: 'ServiceAccount', name: 'reader', namespace: home }, ['get', 'list', 'watch', 'create', 'update', 'delete']);
    await createCredentialSecret(home, 'reader-token', { token: (await kube().createToken(home, 'reader', [], 3600)).token });
    await createCredentialSecret(home, 'nobody-token', { token: (await kube().createToken(home, 'nobody', [], 3600)).token });
    proxy = await startKubeProxy(apiServer(), apiCa(), join(stateDir(), 'test-tls'));
  });
  afterAll(async () => {
    await proxy.close();
    await kube().delete(Resources.Namespace, undefined, remote);
    await kube().delete(Resources.Namespace, undefined, home);
  });
  const clientAs = (tokenSecret: string) => {
    const spec: SecretStoreSpec = {
      provider: { kubernetes: { server: { url: proxy.url, caBundle: readFileSync(join(stateDir(), 'test-tls/ca.crt'), 'utf8') }, remoteNamespace: remote, auth: { token: { bearerToken: { name: tokenSecret, key: 'token' } } } } },
    };
    return kubernetesProvider.newClient({ store: { metadata: { name: 'k', namespace: home }, spec }, namespace: home, kube: kube() });
  };

  providerConformance({
    name: 'kubernetes (the real kube-apiserver, through a counting proxy)',
    valuesAreMaps: true,
    plainRef: (key) => ({ key, property: 'value' }),
    metadataOf: (tags) => ({ labels: tags, annotations: {} }),
    put: (key, value, opts) => putSecret(remote, key, asData(value), opts?.tags),
    client: () => clientAs('reader-token'),
    deniedClient: () => clientAs('nobody-token'),
    serverRequests: () => Promise.resolve(proxy.requests),
    throttle: () => {
      const stop = proxy.throttle();
      return Promise.resolve(() => Promise.resolve(stop()));
    },
    batchCost: (n) => n,
    supports: {
      versions: { no: 'Kubernetes Secrets have no versions (a pinned remoteRef.version is refused); the resourceVersion is reported as the version read' },
      versionChecks: { no: 'a metadata-only GET costs the API server as much as the Secret itself; the watch (refresh events) tells of changes instead' },
      findByName: true,
      findByPath: { no: 'Secret names have no path: find by name pattern or labels' },
      findByTags: true,
      metadata: true,
      expiryDates: { no: 'Kubernetes Secrets carry no expiry date' },
      rotationDates: { no: 'Kubernetes Secrets have no rotation schedule' },
      permissions: true,
      throttling: true,
      writes: true,
    },
  });
});

describe('kubernetes through the operator (shipped RBAC)', () => {
  useOperator([SECRET_VALUE], { asServiceAccount: true });

  /** A team namespace holding the shared Secrets, and a tenant namespace whose ServiceAccount `reader` may read them. */
  async function central(): Promise<{ source: string; tenant: string }> {
    const source = await newNamespace();
    const tenant = await newNamespace();
    await serviceAccount(tenant, 'reader');
    await grant(source, 'reader', { kind: 'ServiceAccount', name: 'reader', namespace: tenant }, ['get', 'list', 'watch']);
    await putSecret(source, 'db', { username: 'app', password: SECRET_VALUE, config: JSON.stringify({ host: 'db.internal', port: 5432 }) }, { team: 'a' });
    await putSecret(source, 'feature-a', { flag: 'on' }, { team: 'a' });
    await putSecret(source, 'feature-b', { flag: 'off' }, { team: 'b' });
    return { source, tenant };
  }

  it('serviceAccount auth on the operator\'s own cluster: key, property, JSON field, extract, find by labels and by name', async () => {
    const { source, tenant } = await central();
    await createStore(tenant, 'k8s', { provider: { kubernetes: { remoteNamespace: source, auth: { serviceAccount: { name: 'reader' } } } } });
    await createExternalSecret(tenant, 'es', {
      secretStoreRef: { name: 'k8s' },
      data: [
        { secretKey: 'password', remoteRef: { key: 'db', property: 'password' } },
        { secretKey: 'host', remoteRef: { key: 'db', property: 'config.host' } },
      ],
      dataFrom: [
        { extract: { key: 'db' }, rewrite: [{ regexp: { source: '^', target: 'db_' } }] },
        { find: { tags: { team: 'a' }, name: { regexp: '^feature-' } } },
      ],
    });
    const es = await waitForReady(tenant, 'es');
    expect(decoded(await getSecret(tenant, 'es'))).toEqual({
      password: SECRET_VALUE, host: 'db.internal', db_username: 'app', db_password: SECRET_VALUE, db_config: '{"host":"db.internal","port":5432}', 'feature-a': '{"flag":"on"}',
    });
    expect(JSON.stringify([es.status, await events(tenant, 'es')])).not.toContain(SECRET_VALUE);
  });

  it('token, client certificate and kubeconfig (authRef) auth against the API server named by address and CA', async () => {
    const { source, tenant } = await central();
    await createCredentialSecret(tenant, 'token', { token: (await kube().createToken(tenant, 'reader', [], 3600)).token });
    // A client certificate signed by the API server's client CA (--client-ca-file), for a user RBAC knows.
    const user = `cert-user-${tenant}`;
    await grant(source, 'cert-user', { kind: 'User', name: user }, ['get']);
    const { cert, key } = clientCertificate(user);
    await createCredentialSecret(tenant, 'cert', { 'tls.crt': cert, 'tls.key': key });
    const kubeconfig = `apiVersion: v1
kind: Config
current-context: remote
contexts: [{name: remote, context: {cluster: remote, user: reader}}]
clusters: [{name: remote, cluster: {server: "${apiServer()}", certificate-authority-data: "${Buffer.from(apiCa()).toString('base64')}"}}]
users: [{name: reader, user: {token: "${(await kube().createToken(tenant, 'reader', [], 3600)).token}"}}]
`;
    await createCredentialSecret(tenant, 'kubeconfig', { config: kubeconfig });
    const server = { url: apiServer(), caBundle: apiCa() };
    await createStore(tenant, 'token', { provider: { kubernetes: { server, remoteNamespace: source, auth: { token: { bearerToken: { name: 'token', key: 'token' } } } } } });
    await createStore(tenant, 'cert', { provider: { kubernetes: { server, remoteNamespace: source, auth: { cert: { clientCert: { name: 'cert', key: 'tls.crt' }, clientKey: { name: 'cert', key: 'tls.key' } } } } } });
    await createStore(tenant, 'kubeconfig', { provider: { kubernetes: { remoteNamespace: source, authRef: { name: 'kubeconfig', key: 'config' } } } });
    for (const store of ['token', 'cert', 'kubeconfig']) {
      await createExternalSecret(tenant, `via-${store}`, { secretStoreRef: { name: store }, data: [{ secretKey: 'password', remoteRef: { key: 'db', property: 'password' } }] });
      await waitForReady(tenant, `via-${store}`);
      expect(decoded(await getSecret(tenant, `via-${store}`)).password, store).toBe(SECRET_VALUE);
    }
  });

  it('tenancy: a tenant store never reads through the operator\'s identity; kube-system is refused by the API server as the tenant\'s own ServiceAccount', async () => {
    const tenant = await newNamespace();
    await serviceAccount(tenant, 'app');
    await createStore(tenant, 'steal', { provider: { kubernetes: { remoteNamespace: 'kube-system', auth: { serviceAccount: { name: 'app' } } } } });
    await createExternalSecret(tenant, 'steal', { secretStoreRef: { name: 'steal' }, dataFrom: [{ find: { name: { regexp: '.*' } } }] });
    await createExternalSecret(tenant, 'steal-one', { secretStoreRef: { name: 'steal' }, data: [{ secretKey: 'x', remoteRef: { key: 'bootstrap-token-abcdef' } }] });
    const store = await waitFor('the store refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, tenant, 'steal');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(store)?.message).toContain('may not get Secrets in namespace "kube-system"');
    for (const es of ['steal', 'steal-one']) {
      const failed = await waitForReady(tenant, es, 'False');
      expect(['PermissionDenied', 'StoreNotReady']).toContain(ready(failed)?.reason);
      expect(await getSecret(tenant, es)).toBeUndefined();
    }
    // Another namespace's ServiceAccount, a credential Secret elsewhere: the namespace rule refuses both before any request.
    await createStore(tenant, 'other-sa', { provider: { kubernetes: { remoteNamespace: 'kube-system', auth: { serviceAccount: { name: 'secretsync', namespace: 'secretsync-system' } } } } });
    const otherSa = await waitFor('refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, tenant, 'other-sa');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(otherSa)?.message).toContain('may not point to namespace "secretsync-system"');
    // No credentials at all: the API server refuses the store (the operator's identity is never a default).
    const bare = await kubectl(['apply', '-f', '-'], `apiVersion: ${API_VERSION}\nkind: SecretStore\nmetadata: {name: bare, namespace: ${tenant}}\nspec: {provider: {kubernetes: {remoteNamespace: kube-system}}}\n`);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('secretsync never reads a cluster with its own identity');
    // A kubeconfig that would run a command in the operator's Pod.
    await createCredentialSecret(tenant, 'exec', { config: `apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "${apiServer()}"}}]\nusers: [{name: u, user: {exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}}}]\n` });
    await createStore(tenant, 'exec', { provider: { kubernetes: { remoteNamespace: 'kube-system', authRef: { name: 'exec', key: 'config' } } } });
    const exec = await waitFor('refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, tenant, 'exec');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(exec)?.message).toContain('sets exec, which runs a command: refused');
  });

  it('PushSecret writes a Secret in remoteNamespace marked as ours, updates it, and never overwrites one it does not own', async () => {
    const { source, tenant } = await central();
    await grant(source, 'pusher', { kind: 'ServiceAccount', name: 'reader', namespace: tenant }, ['get', 'create', 'update', 'delete']);
    await putSecret(source, 'theirs', { v: 'by hand' });
    await createStore(tenant, 'k8s', { provider: { kubernetes: { remoteNamespace: source, auth: { serviceAccount: { name: 'reader' } } } } });
    await putSecret(tenant, 'app', { password: SECRET_VALUE, user: 'app' });
    const push = (name: string, remoteKey: string) => kube().create<PushSecret>(Resources.PushSecret, {
      apiVersion: API_VERSION, kind: 'PushSecret', metadata: { name, namespace: tenant },
      spec: { secretStoreRefs: [{ name: 'k8s' }], selector: { secret: { name: 'app' } }, data: [{ match: { remoteRef: { remoteKey } } }] },
    });
    await push('ours', 'pushed');
    await push('clobber', 'theirs');
    const pushed = await waitFor('the pushed Secret', async () => {
      const s = await kube().getOrUndefined<Secret>(Resources.Secret, source, 'pushed');
      return s && decoded(s).password === SECRET_VALUE ? s : undefined;
    });
    expect(decoded(pushed)).toEqual({ password: SECRET_VALUE, user: 'app' });
    expect(pushed.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('secretsync');
    expect(pushed.metadata.annotations?.['secretsync.dev/push-owner']).toContain(`${tenant}/ours`);
    await waitFor('the foreign Secret refused', async () => {
      const ps = await kube().get<PushSecret>(Resources.PushSecret, tenant, 'clobber');
      return ready(ps)?.status === 'False' && ready(ps)?.reason === 'RemoteSecretNotOwned';
    });
    expect(decoded(await kube().get<Secret>(Resources.Secret, source, 'theirs'))).toEqual({ v: 'by hand' });
    await putSecret(tenant, 'app', { password: 'rotated', user: 'app' });
    await waitFor('the push of the change', async () => decoded(await kube().get<Secret>(Resources.Secret, source, 'pushed')).password === 'rotated');
  });
});

describe('kubernetes change events: a watch refreshes the copies of one shared Secret', () => {
  let op: TestOperator;
  beforeAll(async () => {
    op = await startOperator({ refreshEvents: { windowMs: 200 } });
  });
  afterAll(() => op.stop());

  it('a change to the shared Secret reaches its copies in 100 namespaces without waiting for refreshInterval', async () => {
    const source = await newNamespace();
    const platform = await newNamespace();
    await serviceAccount(platform, 'distributor');
    await grant(source, 'distributor', { kind: 'ServiceAccount', name: 'distributor', namespace: platform }, ['get', 'list', 'watch']);
    await putSecret(source, 'shared', { token: 'first' });
    const label = `k8s-share-${source}`;
    await kube().create<ClusterSecretStore>(Resources.ClusterSecretStore, {
      apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name: label },
      spec: { provider: { kubernetes: { remoteNamespace: source, auth: { serviceAccount: { name: 'distributor', namespace: platform } } } }, conditions: [{ namespaceSelector: { matchLabels: { share: label } } }] },
    });
    try {
      const copies = await Promise.all(Array.from({ length: 100 }, () => newNamespace({ share: label })));
      await Promise.all(copies.map((ns) => createExternalSecret(ns, 'copy', { refreshInterval: '1h', secretStoreRef: { name: label, kind: 'ClusterSecretStore' }, data: [{ secretKey: 'token', remoteRef: { key: 'shared', property: 'token' } }] })));
      await waitFor('all 100 copies synced', async () => (await Promise.all(copies.map((ns) => getSecret(ns, 'copy')))).every((s) => s && decoded(s).token === 'first'), 120_000, 250);
      const changedAt = Date.now();
      await putSecret(source, 'shared', { token: 'second' });
      const done = new Set<string>();
      await waitFor('the change in all 100 copies', async () => {
        const pending = copies.filter((ns) => !done.has(ns));
        const secrets = await kube().list<Secret>(Resources.Secret, { labelSelector: undefined, fieldSelector: 'metadata.name=copy' });
        for (const s of secrets.items) if (pending.includes(s.metadata.namespace!) && decoded(s).token === 'second') done.add(s.metadata.namespace!);
        return done.size === copies.length;
      }, 60_000, 100);
      const ms = Date.now() - changedAt;
      console.log(`kubernetes change event: one shared Secret reached 100 namespaces in ${ms} ms`);
      expect(ms).toBeLessThan(30_000);
    } finally {
      await kube().delete(Resources.ClusterSecretStore, undefined, label);
    }
  }, 240_000);
});

/** A key and a certificate for `user`, signed by the control plane's client CA. */
function clientCertificate(user: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-cert-'));
  const certs = join(stateDir(), 'certs');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${user}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'req.csr')], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'req.csr'), '-CA', join(certs, 'client-ca.crt'), '-CAkey', join(certs, 'client-ca.key'), '-CAcreateserial', '-CAserial', join(dir, 'ca.srl'), '-days', '1', '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}
