// The CSI provider plugin (`secretsync csi-provider`, src/csi/) against real
// OpenBao and the real kube-apiserver, called by the Secrets Store CSI
// driver's own provider client (test/tools/csi-client, built from the
// driver's module by scripts/install-csi.sh): an ExternalSecret mounted by
// name as files, exactly as the operator would compute its Secret, with no
// Secret written; the simple case of a store and remote refs; the Pod's own
// ServiceAccount token for Kubernetes auth; the tenancy refusals; and the
// reads 100 Pods mounting one key cost.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import NodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { API_VERSION, Resources, WORKLOADS, type KubeObject, type Secret } from '../../src/kube/types.js';
import { Mounter } from '../../src/csi/mount.js';
import { servePlugin, type PluginServer } from '../../src/csi/server.js';
import { createLogger } from '../../src/runtime/log.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { openbaoRequests } from '../support/openbao-audit.js';
import { ConjurAdmin } from '../servers/conjur/admin-client.js';
import { createCredentialSecret, createExternalSecret, createStore, helm, kube, kubeConfig, newNamespace, providerEnv, run, stateDir, waitFor } from './harness.js';

const SECRET_VALUE = 'csi-secret-value-6t7y';
const env = () => providerEnv();
const root = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
let client = '';
let socket = '';
let server: PluginServer;
let mounter: Mounter;

beforeAll(async () => {
  const dir = (await run('bash', [join(import.meta.dirname, '../../scripts/install-csi.sh')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
  client = join(dir, 'csi-client');
  socket = join(mkdtempSync(join(tmpdir(), 'csi-')), 'secretsync.sock');
  mounter = new Mounter({ kube: kube(), metrics: new Metrics(), log: createLogger('silent'), callTimeoutMs: 10_000, reuseReadsMs: 30_000, rereadCredentialsMs: 300_000 });
  server = await servePlugin(socket, mounter, createLogger('silent'), 30_000);
}, 900_000);
afterAll(async () => {
  await server?.close();
  await mounter?.close();
});

interface MountAnswer {
  files?: Array<{ path: string; mode: number; contents: string }>;
  object_version?: Array<{ id: string; version: string }>;
  code?: string;
  message?: string;
}

/** A Mount as the driver sends it, through the driver's own client. */
function mount(pod: { namespace: string; name?: string; serviceAccount?: string; tokens?: Record<string, { token: string; expirationTimestamp: string }> }, parameters: Record<string, string>, permission = '420', at = socket): Promise<MountAnswer> {
  const attributes = {
    ...parameters,
    'csi.storage.k8s.io/pod.name': pod.name ?? 'app-0',
    'csi.storage.k8s.io/pod.namespace': pod.namespace,
    'csi.storage.k8s.io/pod.uid': '00000000-0000-0000-0000-000000000001',
    'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccount ?? 'default',
    ...(pod.tokens ? { 'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify(pod.tokens) } : {}),
  };
  return new Promise((resolve, reject) => {
    execFile(client, ['-socket', at, '-attributes', JSON.stringify(attributes), '-permission', permission, 'mount'], (err, stdout) => {
      if (err && (err as { code?: number }).code !== 3) return reject(new Error(err.message));
      resolve(JSON.parse(stdout) as MountAnswer);
    });
  });
}

const fileText = (answer: MountAnswer) => Object.fromEntries((answer.files ?? []).map((f) => [f.path, Buffer.from(f.contents, 'base64').toString('utf8')]));

async function vaultNamespace(): Promise<string> {
  const ns = await newNamespace();
  await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
  await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
  return ns;
}

describe('the CSI provider plugin, called by the driver\'s own client', () => {
  it('answers Version with its name', async () => {
    const answer = await new Promise<string>((resolve, reject) => execFile(client, ['-socket', socket, 'version'], (err, out) => (err ? reject(new Error(err.message)) : resolve(out))));
    expect(JSON.parse(answer)).toMatchObject({ runtime_name: 'secretsync', version: 'v1alpha1' });
  });

  it('mounts an ExternalSecret by name as the operator would compute its Secret (property, extract, template), and writes no Secret', async () => {
    const ns = await vaultNamespace();
    await root().write(`secret/data/csi/${ns}/db`, { data: { username: 'app', password: SECRET_VALUE } });
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'vault' },
      data: [{ secretKey: 'password', remoteRef: { key: `csi/${ns}/db`, property: 'password' } }],
      dataFrom: [{ extract: { key: `csi/${ns}/db` }, rewrite: [{ regexp: { source: '^', target: 'db_' } }] }],
      target: { template: { mergePolicy: 'Merge', data: { dsn: 'postgres://{{ db_username }}:{{ password }}@db/app' } } },
    });
    const answer = await mount({ namespace: ns }, { externalSecret: 'db' }, '288');
    expect(answer.code, answer.message).toBeUndefined();
    expect(fileText(answer)).toEqual({ password: SECRET_VALUE, db_username: 'app', db_password: SECRET_VALUE, dsn: `postgres://app:${SECRET_VALUE}@db/app` });
    expect(answer.files!.every((f) => f.mode === 288)).toBe(true);
    expect(answer.object_version!.map((v) => v.id).sort()).toEqual(['db_password', 'db_username', 'dsn', 'password']);
    const secrets = await kube().list<Secret>(Resources.Secret, { namespace: ns });
    expect(secrets.items.map((s) => s.metadata.name)).toEqual(['vault-token']);
  });

  it('mounts a store\'s remote refs (the simple case), files named by path or the key\'s last part', async () => {
    const ns = await vaultNamespace();
    await root().write(`secret/data/csi/${ns}/api`, { data: { token: SECRET_VALUE } });
    const objects = `- { key: csi/${ns}/api, property: token }\n- { key: csi/${ns}/api, property: token, path: api-token }\n`;
    const answer = await mount({ namespace: ns }, { store: 'vault', objects });
    expect(fileText(answer)).toEqual({ api: SECRET_VALUE, 'api-token': SECRET_VALUE });
  });

  it('a Pod authenticates as itself: Kubernetes auth with the token the driver passed (tokenRequests), refused without it', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
    await root().write(`sys/policies/acl/csi-${ns}`, { policy: `path "secret/data/csi/${ns}/*" { capabilities = ["read"] }` });
    await root().write(`auth/kubernetes/role/csi-${ns}`, { bound_service_account_names: 'app', bound_service_account_namespaces: ns, policies: `csi-${ns}`, audience: 'vault', ttl: '1h' });
    await root().write(`secret/data/csi/${ns}/own`, { data: { v: SECRET_VALUE } });
    await createStore(ns, 'vault-k8s', { provider: { vault: { server: env().VAULT_ADDR!, auth: { kubernetes: { role: `csi-${ns}`, serviceAccountRef: { name: 'app', audiences: ['vault'] } } } } } });
    const objects = `- { key: csi/${ns}/own, property: v }\n`;
    const minted = await kube().createToken(ns, 'app', ['vault'], 600);
    const tokens = { vault: { token: minted.token, expirationTimestamp: minted.expiresAt.toISOString() } };
    const answer = await mount({ namespace: ns, serviceAccount: 'app', tokens }, { store: 'vault-k8s', objects });
    expect(fileText(answer), answer.message).toEqual({ own: SECRET_VALUE });
    const without = await mount({ namespace: ns, serviceAccount: 'app' }, { store: 'vault-k8s', objects });
    expect(without.message).toContain('add { audience: "vault" } to the CSIDriver\'s tokenRequests');
    const otherAccount = await mount({ namespace: ns, serviceAccount: 'default', tokens }, { store: 'vault-k8s', objects });
    expect(otherAccount.message).toContain(`the Pod runs as "${ns}/default"`);
  });

  it('a Pod authenticates as itself to Conjur too: authn-jwt with the Pod\'s token for audience conjur', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
    const conjur = new ConjurAdmin(env().CONJUR_APPLIANCE_URL!, readFileSync(env().CONJUR_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env().TEST_CA_FILE!);
    try {
      const service = `csi-${ns}`;
      await conjur.addJwtService({ id: service, issuer: kubeConfig().getCurrentCluster()!.server, audience: 'conjur' });
      const host = `host/csi/${ns}`;
      await conjur.addRole(host, { [`authn-jwt/${service}/kubernetes.io/namespace`]: ns, [`authn-jwt/${service}/kubernetes.io/serviceaccount/name`]: 'app' });
      await conjur.addVariable({ id: `csi/${ns}/token`, values: [SECRET_VALUE], permissions: { [host]: 'execute' } });
      await createStore(ns, 'conjur', { provider: { conjur: { url: env().CONJUR_APPLIANCE_URL!, caBundle: readFileSync(env().TEST_CA_FILE!, 'utf8'), auth: { jwt: { account: env().CONJUR_ACCOUNT!, serviceID: service, hostId: `csi/${ns}`, serviceAccountRef: { name: 'app' } } } } } });
      const objects = `- { key: csi/${ns}/token, path: token }\n`;
      const minted = await kube().createToken(ns, 'app', ['conjur'], 600);
      const answer = await mount({ namespace: ns, serviceAccount: 'app', tokens: { conjur: { token: minted.token, expirationTimestamp: minted.expiresAt.toISOString() } } }, { store: 'conjur', objects });
      expect(fileText(answer), answer.message).toEqual({ token: SECRET_VALUE });
      // The token of another ServiceAccount of the namespace: Conjur refuses the login (the host's annotations name "app").
      await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'other', namespace: ns } });
      const other = await kube().createToken(ns, 'other', ['conjur'], 600);
      const refused = await mount({ namespace: ns, name: 'other-0', serviceAccount: 'app', tokens: { conjur: { token: other.token, expirationTimestamp: other.expiresAt.toISOString() } } }, { store: 'conjur', objects });
      expect(refused.message).toContain('Conjur refused the login');
      expect(JSON.stringify(refused)).not.toContain(SECRET_VALUE);
    } finally {
      await conjur.close();
    }
  });

  it('a Pod of another namespace is refused: it cannot name another namespace\'s ExternalSecret or SecretStore, nor a ClusterSecretStore that does not admit it', async () => {
    const owner = await vaultNamespace();
    await root().write(`secret/data/csi/${owner}/private`, { data: { v: SECRET_VALUE } });
    await createExternalSecret(owner, 'private', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'v', remoteRef: { key: `csi/${owner}/private`, property: 'v' } }] });
    const intruder = await newNamespace();
    const viaEs = await mount({ namespace: intruder }, { externalSecret: 'private' });
    expect(viaEs).toMatchObject({ code: 'FailedPrecondition' });
    expect(viaEs.message).toContain(`ExternalSecret "private" not found in namespace "${intruder}"`);
    const viaStore = await mount({ namespace: intruder }, { store: 'vault', objects: `- { key: csi/${owner}/private, property: v }\n` });
    expect(viaStore.message).toContain(`SecretStore "vault" not found in namespace "${intruder}"`);
    await createCredentialSecret(owner, 'cluster-token', { token: env().VAULT_TOKEN! });
    const css = `csi-${owner}`;
    await kube().create(Resources.ClusterSecretStore, {
      apiVersion: API_VERSION, kind: 'ClusterSecretStore', metadata: { name: css },
      spec: { provider: { vault: { server: env().VAULT_ADDR!, auth: { tokenSecretRef: { name: 'cluster-token', key: 'token', namespace: owner } } } }, conditions: [{ namespaces: [owner] }] },
    });
    try {
      const viaCluster = await mount({ namespace: intruder }, { store: css, storeKind: 'ClusterSecretStore', objects: `- { key: csi/${owner}/private, property: v }\n` });
      expect(viaCluster).toMatchObject({ code: 'PermissionDenied' });
      expect(viaCluster.message).toContain(`does not admit namespace "${intruder}"`);
      const admitted = await mount({ namespace: owner }, { store: css, storeKind: 'ClusterSecretStore', objects: `- { key: csi/${owner}/private, property: v }\n` });
      expect(fileText(admitted)).toEqual({ private: SECRET_VALUE });
    } finally {
      await kube().delete(Resources.ClusterSecretStore, undefined, css);
    }
    for (const answer of [viaEs, viaStore]) expect(JSON.stringify(answer)).not.toContain(SECRET_VALUE);
  });

  it('the chart\'s DaemonSet (csi.enabled): the API server takes it, and the plugin mounts with only its ServiceAccount\'s permissions', async () => {
    const release = `csi-${Date.now().toString(36)}`;
    const releaseNs = await newNamespace();
    const installed = await helm(['install', release, join(import.meta.dirname, '../../deploy/charts/secretsync'), '--namespace', releaseNs, '--set', 'csi.enabled=true', '--wait=false']);
    expect(installed.code, installed.stderr).toBe(0);
    try {
      const ds = await kube().get<KubeObject & { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(WORKLOADS.DaemonSet, releaseNs, `${release}-secretsync-csi`);
      expect(ds.spec.template.spec.containers[0]!.args.slice(0, 2)).toEqual(['csi-provider', '--socket=/provider/secretsync.sock']);
      // No kubelet runs the DaemonSet's Pods here: the same bundle runs as its ServiceAccount.
      const { token } = await kube().createToken(releaseNs, `${release}-secretsync-csi`, [], 3600);
      const cluster = kubeConfig().getCurrentCluster()!;
      const kc = new KubeConfig();
      kc.loadFromOptions({ clusters: [cluster], users: [{ name: 'csi', token }], contexts: [{ name: 'csi', cluster: cluster.name, user: 'csi' }], currentContext: 'csi' });
      const kubeconfig = join(mkdtempSync(join(tmpdir(), 'csi-sa-')), 'kubeconfig');
      writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
      const asChart = join(mkdtempSync(join(tmpdir(), 'csi-')), 'secretsync.sock');
      const plugin = spawn(process.execPath, [join(import.meta.dirname, '../../dist/bundle/main.mjs'), 'csi-provider', '--socket', asChart, '--log-level', 'warn'], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: 'ignore' });
      try {
        await waitFor('the plugin listening', () => existsSync(asChart));
        const ns = await vaultNamespace();
        await root().write(`secret/data/csi/${ns}/chart`, { data: { v: SECRET_VALUE } });
        await createExternalSecret(ns, 'chart', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'v', remoteRef: { key: `csi/${ns}/chart`, property: 'v' } }] });
        const answer = await mount({ namespace: ns }, { externalSecret: 'chart' }, '420', asChart);
        expect(fileText(answer), answer.message).toEqual({ v: SECRET_VALUE });
      } finally {
        plugin.kill('SIGTERM');
      }
    } finally {
      await helm(['uninstall', release, '--namespace', releaseNs]);
    }
  }, 60_000);

  it('a rotated credential Secret is read again (--reread-credentials): mounts go on after the old token is revoked', async () => {
    const ns = await newNamespace();
    const first = (await root().tokenCreate({ policies: ['root'], ttl: '1h' })) as { auth: { client_token: string } };
    await createCredentialSecret(ns, 'vault-token', { token: first.auth.client_token });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    await root().write(`secret/data/csi/${ns}/rotating`, { data: { v: SECRET_VALUE } });
    const objects = `- { key: csi/${ns}/rotating, property: v }\n`;
    // A plugin of its own that reads credentials again every second.
    const quick = new Mounter({ kube: kube(), metrics: new Metrics(), log: createLogger('silent'), callTimeoutMs: 10_000, reuseReadsMs: 30_000, rereadCredentialsMs: 1000 });
    const at = join(mkdtempSync(join(tmpdir(), 'csi-')), 'secretsync.sock');
    const quickServer = await servePlugin(at, quick, createLogger('silent'), 30_000);
    onTestFinished(async () => {
      await quickServer.close();
      await quick.close();
    });
    expect(fileText(await mount({ namespace: ns }, { store: 'vault', objects }, '420', at))).toEqual({ rotating: SECRET_VALUE });
    const second = (await root().tokenCreate({ policies: ['root'], ttl: '1h' })) as { auth: { client_token: string } };
    await kube().mergePatch(Resources.Secret, ns, 'vault-token', { data: { token: Buffer.from(second.auth.client_token).toString('base64') } });
    await root().write('auth/token/revoke', { token: first.auth.client_token });
    await root().write(`secret/data/csi/${ns}/rotating`, { data: { v: 'after-rotation' } });
    await waitFor('a mount with the new token', async () => fileText(await mount({ namespace: ns, name: `after-${Date.now()}` }, { store: 'vault', objects }, '420', at)).rotating === 'after-rotation', 15_000, 500);
  });

  it('100 Pods mounting one key cost one provider read (shared within --reuse-reads)', async () => {
    const ns = await vaultNamespace();
    await root().write(`secret/data/csi/${ns}/shared`, { data: { v: SECRET_VALUE } });
    const objects = `- { key: csi/${ns}/shared, property: v }\n`;
    await mount({ namespace: ns, name: 'warm-up' }, { store: 'vault', objects: `- { key: csi/${ns}/missing-ok, property: v }\n` }).catch(() => undefined);
    const before = openbaoRequests(stateDir());
    for (let i = 0; i < 100; i++) expect(fileText(await mount({ namespace: ns, name: `app-${i}` }, { store: 'vault', objects }))).toEqual({ shared: SECRET_VALUE });
    const reads = openbaoRequests(stateDir()) - before;
    console.log(`csi: 100 Pods mounting one key cost ${reads} OpenBao request(s)`);
    expect(reads).toBe(1);
  }, 120_000);
});
