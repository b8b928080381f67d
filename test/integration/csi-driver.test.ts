// The real Secrets Store CSI driver (built from the Go module proxy by
// scripts/install-csi.sh: v1.3.0, the newest that builds here) calling the
// shipped plugin (`secretsync csi-provider`, the bundle as its own process).
// The driver is called as the kubelet calls it (NodePublishVolume on its CSI
// socket, through the CSI spec's Go client), for Pods that exist in the API
// with a CSI volume on the driver's node: it reads the SecretProviderClass,
// mounts a tmpfs, asks the plugin and writes the files; its rotation
// reconciler asks again every poll interval. Not covered here: the kubelet
// itself (its plugin registration needs node-driver-registrar, which the
// module proxy refuses: see scripts/install-csi.sh).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources, type KubeObject, type Secret } from '../../src/kube/types.js';
import { openbaoRequests } from '../support/openbao-audit.js';
import { createCredentialSecret, createExternalSecret, createStore, kube, kubectl, newNamespace, providerEnv, run, stateDir, waitFor } from './harness.js';

const SECRET_VALUE = 'csi-driver-value-8i9o';
const NODE = 'secretsync-csi-node';
const ROTATION_POLL_S = 2;
const bundle = join(import.meta.dirname, '../../dist/bundle/main.mjs');
const env = () => providerEnv();
const root = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const SPC = { group: 'secrets-store.csi.x-k8s.io', version: 'v1', plural: 'secretproviderclasses', kind: 'SecretProviderClass', namespaced: true };

let dir = '';
let work = '';
let driver: ChildProcess;
let plugin: ChildProcess;
const published: string[] = [];

function start(cmd: string, args: string[], envs: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, KUBECONFIG: join(stateDir(), 'kubeconfig'), ...envs }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

function client(args: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
  return new Promise((resolve, reject) => execFile(join(dir, 'csi-client'), args, (err, stdout) => {
    const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
    if (code !== 0 && code !== 3) return reject(new Error(`csi-client: ${err!.message}`));
    resolve({ code, out: JSON.parse(stdout) as Record<string, unknown> });
  }));
}

beforeAll(async () => {
  dir = (await run('bash', [join(import.meta.dirname, '../../scripts/install-csi.sh')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
  for (const crd of readdirSync(join(dir, 'crds-v1.3.0'))) {
    const applied = await kubectl(['apply', '--server-side', '-f', join(dir, 'crds-v1.3.0', crd)]);
    if (applied.code !== 0) throw new Error(applied.stderr);
  }
  const driverObject = await kubectl(['apply', '--server-side', '-f', '-'], 'apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: secrets-store.csi.k8s.io}\nspec: {podInfoOnMount: true, attachRequired: false, volumeLifecycleModes: [Ephemeral], tokenRequests: [{audience: vault}]}\n');
  if (driverObject.code !== 0) throw new Error(driverObject.stderr);
  await kubectl(['wait', '--for', 'condition=Established', 'crd/secretproviderclasses.secrets-store.csi.x-k8s.io', 'crd/secretproviderclasspodstatuses.secrets-store.csi.x-k8s.io']);
  work = mkdtempSync(join(tmpdir(), 'csi-driver-'));
  mkdirSync(join(work, 'providers'));
  plugin = start(process.execPath, [bundle, 'csi-provider', '--socket', join(work, 'providers/secretsync.sock'), '--reuse-reads', '1s', '--log-level', 'warn']);
  driver = start(join(dir, 'secrets-store-csi-driver-v1.3.0'), [
    '--endpoint', `unix://${join(work, 'csi.sock')}`, '--nodeid', NODE, '--provider-volume', join(work, 'providers'),
    '--enable-secret-rotation', '--rotation-poll-interval', `${ROTATION_POLL_S}s`, '--metrics-addr', '127.0.0.1:0', '--kubeconfig', join(stateDir(), 'kubeconfig'),
  ]);
  await waitFor('the driver and the plugin listening', () => existsSync(join(work, 'csi.sock')) && existsSync(join(work, 'providers/secretsync.sock')), 30_000);
}, 900_000);

afterAll(async () => {
  for (const target of published) await client(['-socket', join(work, 'csi.sock'), '-target', target, 'unpublish']).catch(() => undefined);
  driver?.kill('SIGTERM');
  plugin?.kill('SIGTERM');
});

/** A Pod on the driver's node with a secretsync CSI volume, as the API holds it (no kubelet runs it). */
async function podWithVolume(ns: string, name: string, spc: string, serviceAccount = 'default'): Promise<KubeObject> {
  // The driver mints the Pod's tokens (the CSIDriver's tokenRequests): its ServiceAccount must exist.
  await waitFor(`ServiceAccount ${ns}/${serviceAccount}`, () => kube().getOrUndefined(Resources.ServiceAccount, ns, serviceAccount));
  return kube().create(Resources.Pod, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: {
      nodeName: NODE, serviceAccountName: serviceAccount, automountServiceAccountToken: false,
      containers: [{ name: 'app', image: 'example.invalid/app', volumeMounts: [{ name: 'secrets', mountPath: '/mnt/secrets', readOnly: true }] }],
      volumes: [{ name: 'secrets', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: spc } } }],
    },
  } as KubeObject);
}

/** NodePublishVolume for the Pod's volume, as the kubelet sends it; returns the target path. */
async function publish(pod: KubeObject, spc: string): Promise<{ target: string; code: number; message?: string }> {
  const uid = pod.metadata.uid!;
  const target = join(work, 'pods', uid, 'volumes/kubernetes.io~csi/secrets/mount');
  const context = {
    secretProviderClass: spc, 'csi.storage.k8s.io/ephemeral': 'true', 'csi.storage.k8s.io/pod.name': pod.metadata.name,
    'csi.storage.k8s.io/pod.namespace': pod.metadata.namespace!, 'csi.storage.k8s.io/pod.uid': uid, 'csi.storage.k8s.io/serviceAccount.name': (pod as unknown as { spec: { serviceAccountName: string } }).spec.serviceAccountName,
  };
  const { code, out } = await client(['-socket', join(work, 'csi.sock'), '-attributes', JSON.stringify(context), '-target', target, 'publish']);
  if (code === 0) published.push(target);
  return { target, code, message: out.message as string | undefined };
}

const read = (target: string, file: string) => readFileSync(join(target, file), 'utf8');

async function secretProviderClass(ns: string, name: string, parameters: Record<string, string>): Promise<void> {
  await kube().create(SPC, { apiVersion: 'secrets-store.csi.x-k8s.io/v1', kind: 'SecretProviderClass', metadata: { name, namespace: ns }, spec: { provider: 'secretsync', parameters } } as KubeObject);
}

describe('the Secrets Store CSI driver with the secretsync plugin', () => {
  it('mounts an ExternalSecret\'s keys from OpenBao as files, with no Secret in the API server; a change in OpenBao reaches the file at the driver\'s rotation', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    await root().write(`secret/data/csi-driver/${ns}/db`, { data: { username: 'app', password: SECRET_VALUE } });
    await createExternalSecret(ns, 'db', { secretStoreRef: { name: 'vault' }, dataFrom: [{ extract: { key: `csi-driver/${ns}/db` } }] });
    await secretProviderClass(ns, 'db', { externalSecret: 'db' });
    const pod = await podWithVolume(ns, 'app', 'db');
    const { target, code, message } = await publish(pod, 'db');
    expect(code, message).toBe(0);
    expect({ username: read(target, 'username'), password: read(target, 'password') }).toEqual({ username: 'app', password: SECRET_VALUE });
    const secrets = await kube().list<Secret>(Resources.Secret, { namespace: ns });
    expect(secrets.items.map((s) => s.metadata.name)).toEqual(['vault-token']);
    expect(JSON.stringify(secrets.items)).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));

    const changedAt = Date.now();
    await root().write(`secret/data/csi-driver/${ns}/db`, { data: { username: 'app', password: 'rotated-value' } });
    await waitFor('the rotated value in the file', () => read(target, 'password') === 'rotated-value', 30_000, 100);
    const ms = Date.now() - changedAt;
    console.log(`csi: a change in OpenBao reached the mounted file in ${ms} ms (rotation poll ${ROTATION_POLL_S} s)`);
    expect(ms).toBeLessThan(ROTATION_POLL_S * 1000 * 3 + 2000);
  }, 120_000);

  it('a Pod of another namespace naming an ExternalSecret it does not have is refused, and the driver says why', async () => {
    const owner = await newNamespace();
    await createExternalSecret(owner, 'private', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'v', remoteRef: { key: 'x' } }] });
    const intruder = await newNamespace();
    await secretProviderClass(intruder, 'steal', { externalSecret: 'private' });
    const pod = await podWithVolume(intruder, 'thief', 'steal');
    // Until the driver's caches have the new objects, it may refuse on its own account.
    const refused = await waitFor('the plugin\'s refusal', async () => {
      const answer = await publish(pod, 'steal');
      expect(answer.code).toBe(3);
      return answer.message?.includes('not found in namespace') ? answer : undefined;
    }, 20_000, 500);
    expect(refused.message).toContain(`ExternalSecret "private" not found in namespace "${intruder}"`);
    expect(existsSync(join(refused.target, 'v'))).toBe(false);
  });

  it('the plugin\'s memory on the node after 100 Pods\' mounts of one key', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    await root().write(`secret/data/csi-driver/${ns}/shared`, { data: { v: SECRET_VALUE } });
    await secretProviderClass(ns, 'shared', { store: 'vault', objects: `- { key: csi-driver/${ns}/shared, property: v, path: v }\n` });
    for (let i = 0; i < 100; i++) {
      const { target, code, message } = await publish(await podWithVolume(ns, `app-${i}`, 'shared'), 'shared');
      expect(code, message).toBe(0);
      expect(read(target, 'v')).toBe(SECRET_VALUE);
    }
    // The driver's rotation now asks the plugin again for all of them every poll: count what reaches OpenBao.
    const before = openbaoRequests(stateDir());
    const windowS = 5 * ROTATION_POLL_S;
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const perPoll = (openbaoRequests(stateDir()) - before) / (windowS / ROTATION_POLL_S);
    console.log(`csi: 100 Pods mounting one key, rotation every ${ROTATION_POLL_S} s: ${perPoll.toFixed(1)} OpenBao reads per rotation poll`);
    expect(perPoll).toBeLessThanOrEqual(3);
    const status = readFileSync(`/proc/${plugin.pid!}/status`, 'utf8');
    const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    const hwmMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    console.log(`csi: the plugin's memory after ${published.length} mounts: RSS ${rssMiB.toFixed(1)} MiB, peak ${hwmMiB.toFixed(1)} MiB`);
    // The chart gives the DaemonSet a 256 MiB limit.
    expect(hwmMiB).toBeLessThan(256);
  }, 300_000);
});
