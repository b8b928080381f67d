// The CSI plugin on the node's real kubelet. The Secrets Store CSI driver
// (built from the Go module proxy, scripts/install-csi.sh) runs on the node
// as a process beside the kubelet, registered with it by a stand-in for
// node-driver-registrar (test/tools/csi-registrar: the proxy refuses the
// real one); the chart's DaemonSet (csi.enabled) runs the plugin as a Pod
// from the image `make image` built. A Pod mounts keys from OpenBao through an
// ExternalSecret by name: the file is read inside its container, no Secret
// holds the value, a change in OpenBao reaches the file; a Pod of another
// namespace is refused and its events say why.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources, type KubeObject, type Secret } from '../../src/kube/types.js';
import { createExternalSecret, events, kube, kubectl, stateDir, waitFor } from '../integration/harness.js';
import { chart, helm, nodeEnv, readyPods, vaultStore, writeVault } from './node.js';

const exec = promisify(execFile);
const NODE = 'secretsync-node';
const KUBELET = '/var/lib/secretsync-node/kubelet';
const DRIVER = 'secrets-store.csi.k8s.io';
const DRIVER_SOCKET = `${KUBELET}/plugins/csi-secrets-store/csi.sock`;
const PROVIDERS = '/var/lib/secretsync-node/csi-providers';
const RELEASE = 'secretsync-csi';
const RELEASE_NS = 'secretsync-csi';
const SPC = { group: 'secrets-store.csi.x-k8s.io', version: 'v1', plural: 'secretproviderclasses', kind: 'SecretProviderClass', namespaced: true };
const SECRET_VALUE = 'csi-e2e-value-1q2w';
const NODE_BIN = '/nodejs/bin/node';

let dir = '';
const processes: ChildProcess[] = [];

function start(cmd: string, args: string[]): void {
  // The driver's rotation reconciler reads KUBECONFIG, not its --kubeconfig flag.
  const child = spawn(cmd, args, { env: { ...process.env, KUBECONFIG: join(stateDir(), 'kubeconfig') }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.resume();
  processes.push(child);
}

const imageValues = () => {
  const ref = nodeEnv().IMAGE_REF!;
  const at = ref.lastIndexOf(':');
  return ['--set', `image.repository=${ref.slice(0, at)}`, '--set', `image.tag=${ref.slice(at + 1)}`, '--set', 'image.pullPolicy=Never'];
};

beforeAll(async () => {
  dir = (await exec('bash', [join(import.meta.dirname, '../../scripts/install-csi.sh')], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split('\n').at(-1)!;
  for (const crd of readdirSync(join(dir, 'crds-v1.3.0'))) {
    const applied = await kubectl(['apply', '--server-side', '-f', join(dir, 'crds-v1.3.0', crd)]);
    if (applied.code !== 0) throw new Error(applied.stderr);
  }
  const csiDriver = await kubectl(['apply', '--server-side', '-f', '-'], `apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: ${DRIVER}}\nspec: {podInfoOnMount: true, attachRequired: false, volumeLifecycleModes: [Ephemeral], tokenRequests: [{audience: vault}]}\n`);
  if (csiDriver.code !== 0) throw new Error(csiDriver.stderr);
  mkdirSync(join(KUBELET, 'plugins/csi-secrets-store'), { recursive: true });
  mkdirSync(PROVIDERS, { recursive: true });
  const kubeconfig = join(stateDir(), 'kubeconfig');
  start(join(dir, 'secrets-store-csi-driver-v1.3.0'), ['--endpoint', `unix://${DRIVER_SOCKET}`, '--nodeid', NODE, '--provider-volume', PROVIDERS,
    '--enable-secret-rotation', '--rotation-poll-interval', '2s', '--metrics-addr', '127.0.0.1:0', '--kubeconfig', kubeconfig]);
  await waitFor('the driver listening', () => existsSync(DRIVER_SOCKET), 30_000);
  start(join(dir, 'csi-registrar'), ['-registration-socket', `${KUBELET}/plugins_registry/${DRIVER}-reg.sock`, '-driver-name', DRIVER, '-driver-endpoint', DRIVER_SOCKET]);
  await waitFor('the kubelet registered the driver (CSINode)', async () => {
    const node = await kube().getOrUndefined<KubeObject & { spec?: { drivers?: Array<{ name: string }> } }>({ group: 'storage.k8s.io', version: 'v1', plural: 'csinodes', kind: 'CSINode', namespaced: false }, undefined, NODE);
    return node?.spec?.drivers?.some((d) => d.name === DRIVER) ?? false;
  }, 60_000, 500);
  const installed = await helm(['install', RELEASE, chart, '--namespace', RELEASE_NS, '--create-namespace', ...imageValues(), '--set', 'replicaCount=0', '--set', 'podDisruptionBudget.enabled=false', '--set', 'csi.enabled=true',
    '--set', `csi.providersDir=${PROVIDERS}`, '--set', 'csi.reuseReads=1s', '--wait', '--timeout', '180s']);
  expect(installed.code, installed.stderr).toBe(0);
  await readyPods(RELEASE_NS, 'app.kubernetes.io/name=secretsync-csi', 1);
  await waitFor('the plugin\'s socket on the node', () => existsSync(join(PROVIDERS, 'secretsync.sock')), 60_000);
}, 900_000);

afterAll(async () => {
  await helm(['uninstall', RELEASE, '--namespace', RELEASE_NS, '--wait']);
  for (const p of processes) p.kill('SIGTERM');
});

async function appPod(ns: string, name: string, spc: string): Promise<void> {
  await waitFor(`ServiceAccount ${ns}/default`, () => kube().getOrUndefined(Resources.ServiceAccount, ns, 'default'));
  await kube().create(Resources.Pod, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: {
      containers: [{ name: 'app', image: nodeEnv().IMAGE_REF!, imagePullPolicy: 'Never', command: [NODE_BIN, '-e', 'setInterval(() => {}, 1e9)'], volumeMounts: [{ name: 'secrets', mountPath: '/mnt/secrets', readOnly: true }] }],
      volumes: [{ name: 'secrets', csi: { driver: DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: spc } } }],
      terminationGracePeriodSeconds: 0,
    },
  } as KubeObject);
}

async function secretProviderClass(ns: string, name: string, parameters: Record<string, string>): Promise<void> {
  await kube().create(SPC, { apiVersion: 'secrets-store.csi.x-k8s.io/v1', kind: 'SecretProviderClass', metadata: { name, namespace: ns }, spec: { provider: 'secretsync', parameters } } as KubeObject);
}

/** A file as the container sees it. */
async function fileInPod(ns: string, pod: string, file: string): Promise<string> {
  const out = await kubectl(['exec', '-n', ns, pod, '--', NODE_BIN, '-e', `process.stdout.write(require('fs').readFileSync('/mnt/secrets/${file}', 'utf8'))`]);
  if (out.code !== 0) throw new Error(out.stderr);
  return out.stdout;
}

describe('the CSI plugin on the node\'s kubelet', () => {
  it('a Pod mounts an ExternalSecret\'s keys from OpenBao as files, read inside its container; no Secret holds them; a change in OpenBao reaches the file', async () => {
    const ns = 'csi-app';
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await vaultStore(ns);
    await writeVault(`${ns}/db`, { username: 'app', password: SECRET_VALUE });
    await createExternalSecret(ns, 'db', { secretStoreRef: { name: 'vault' }, dataFrom: [{ extract: { key: `${ns}/db` } }] });
    await secretProviderClass(ns, 'db', { externalSecret: 'db' });
    await appPod(ns, 'app', 'db');
    await readyPods(ns, '', 1, 120_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}; events: ${JSON.stringify(await events(ns, 'app'))}`);
    });
    expect(await fileInPod(ns, 'app', 'password')).toBe(SECRET_VALUE);
    expect(await fileInPod(ns, 'app', 'username')).toBe('app');
    const secrets = await kube().list<Secret>(Resources.Secret, { namespace: ns });
    expect(secrets.items.map((s) => s.metadata.name)).toEqual(['vault-token']);

    const changedAt = Date.now();
    await writeVault(`${ns}/db`, { username: 'app', password: 'rotated-in-openbao' });
    await waitFor('the change in the container\'s file', async () => (await fileInPod(ns, 'app', 'password')) === 'rotated-in-openbao', 60_000, 500);
    console.log(`csi e2e: a change in OpenBao reached the file inside the container in ${Date.now() - changedAt} ms (rotation poll 2 s)`);
  }, 300_000);

  it('the driver\'s secretObjects still sync a Secret from the mounted files, for those who want both', async () => {
    const ns = 'csi-both';
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await vaultStore(ns);
    await writeVault(`${ns}/api`, { token: SECRET_VALUE });
    await kube().create(SPC, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1', kind: 'SecretProviderClass', metadata: { name: 'api', namespace: ns },
      spec: { provider: 'secretsync', parameters: { store: 'vault', objects: `- { key: ${ns}/api, property: token, path: token }\n` }, secretObjects: [{ secretName: 'api-synced', type: 'Opaque', data: [{ objectName: 'token', key: 'api-token' }] }] },
    } as KubeObject);
    await appPod(ns, 'app', 'api');
    await readyPods(ns, '', 1, 120_000);
    expect(await fileInPod(ns, 'app', 'token')).toBe(SECRET_VALUE);
    const synced = await waitFor('the Secret the driver syncs', () => kube().getOrUndefined<Secret>(Resources.Secret, ns, 'api-synced'), 60_000, 500);
    expect(Buffer.from(synced.data!['api-token']!, 'base64').toString('utf8')).toBe(SECRET_VALUE);
  }, 300_000);

  it('a Pod of another namespace naming that ExternalSecret is refused, and its events say why', async () => {
    const ns = 'csi-intruder';
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await secretProviderClass(ns, 'steal', { externalSecret: 'db' });
    await appPod(ns, 'thief', 'steal');
    const failed = await waitFor('a FailedMount event', async () => (await events(ns, 'thief')).find((e) => e.reason === 'FailedMount' && e.message.includes('not found in namespace')), 120_000, 1000);
    expect(failed.message).toContain(`ExternalSecret "db" not found in namespace "${ns}"`);
    expect(failed.message).not.toContain(SECRET_VALUE);
  }, 180_000);
});

