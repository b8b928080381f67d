// Moving a running namespace from External Secrets Operator to secretsync in
// place (docs/migrating-from-eso.md, "Cutover on a running cluster"), with
// ESO's own CRDs (test/fixtures/eso-crds, v2.9.0) installed beside ours, its
// Secrets written exactly as ESO v2 writes them (field manager, labels,
// data-hash, a controlling ownerReference with blockOwnerDeletion, the
// finalizer on its ExternalSecrets), values in OpenBao, and the runbook's
// commands run as the page writes them. ESO's controller itself is not here:
// where the runbook needs it running, the test does what it does.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  ESO_CES_FINALIZER, ESO_CLUSTER_EXTERNAL_SECRET, ESO_CREATED_BY_LABEL, ESO_DATA_HASH_ANNOTATION, ESO_EXTERNAL_SECRET, ESO_FINALIZER, ESO_MANAGED_LABEL, esoNamespaceFinalizer,
} from '../../src/api/eso.js';
import { ADOPT_ESO_ANNOTATION, HASH_ANNOTATION, MANAGED_LABEL, RESTART_ON_CHANGE_ANNOTATION, RESTARTED_FOR_ANNOTATION } from '../../src/api/names.js';
import { Reason } from '../../src/api/reasons.js';
import type { ExternalSecret } from '../../src/api/types.js';
import { LineSplitter } from '../../src/runtime/line-splitter.js';
import { API_VERSION, Resources, WORKLOADS, type KubeObject, type Secret } from '../../src/kube/types.js';
import {
  createCredentialSecret, decoded, events, getES, getSecret, kube, kubectl, newNamespace, operatorServiceAccountConfig, providerEnv, ready, startOperator, stateDir, waitFor, waitForReady, type TestOperator,
} from './harness.js';

const root = join(import.meta.dirname, '../..');
const ESO_CRDS = ['externalsecrets', 'secretstores', 'clustersecretstores', 'clusterexternalsecrets'];
const ESO_API = 'external-secrets.io/v1';
const ESO_STORE = { group: 'external-secrets.io', version: 'v1', plural: 'secretstores', kind: 'SecretStore', namespaced: true } as const;
const esoManager = (name: string) => `externalsecrets.external-secrets.io/${name}`;
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
/** How many Secrets the scale case takes over (CUTOVER_N overrides it). */
const CUTOVER_N = Number(process.env.CUTOVER_N ?? 1000);
const vault = () => NodeVault({ endpoint: providerEnv().VAULT_ADDR, token: providerEnv().VAULT_TOKEN });

// ---- the runbook, as docs/migrating-from-eso.md writes it ------------------------------------

/** The `<!-- cutover: name -->` blocks of the runbook, by name, as written (list indentation removed). */
function runbookBlocks(): Map<string, string> {
  const page = readFileSync(join(root, 'docs/migrating-from-eso.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of page.matchAll(/<!-- cutover: ([a-z-]+) -->\n( *)```sh\n([\s\S]*?)\n *```/g)) {
    const indent = m[2]!.length;
    blocks.set(m[1]!, m[3]!.split('\n').map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n'));
  }
  return blocks;
}

let work = '';
let bin = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cutover-'));
  bin = join(work, 'bin');
  rmSync(bin, { recursive: true, force: true });
  // `kubectl` and `secretsync` on the PATH, as a platform engineer has them.
  const kubectlBin = join(process.env.HOME ?? '', '.cache/secretsync/kubernetes-1.34.4/kubectl');
  writeFileSync(join(work, 'kubectl'), `#!/bin/sh\nexec ${kubectlBin} "$@"\n`);
  writeFileSync(join(work, 'secretsync'), `#!/bin/sh\nexec ${process.execPath} ${join(root, 'dist/bundle/main.mjs')} "$@"\n`);
  for (const f of ['kubectl', 'secretsync']) chmodSync(join(work, f), 0o755);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs one block of the runbook with bash -e in its own directory; fails with its output. */
async function runbook(step: string, env: Record<string, string>): Promise<string> {
  const script = runbookBlocks().get(step);
  if (!script) throw new Error(`the runbook has no "${step}" block`);
  const { run } = await import('./harness.js');
  try {
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: env.WORKDIR,
      env: { PATH: `${work}:/usr/bin:/bin`, HOME: env.WORKDIR!, KUBECONFIG: join(stateDir(), 'kubeconfig'), NO_COLOR: '1', ...env },
      maxBuffer: 16 * 2 ** 20,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`runbook step "${step}" exited ${e.code}:\n${e.stdout}\n${e.stderr}`);
  }
}

// ---- ESO's objects and Secrets, as ESO v2 makes them ----------------------------------------

interface EsoObject extends KubeObject {
  spec?: Record<string, unknown>;
}

beforeAll(async () => {
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', ...ESO_CRDS.flatMap((c) => ['-f', join(root, 'test/fixtures/eso-crds', `${c}.yaml`)])]);
  if (applied.code !== 0) throw new Error(`installing ESO's CRDs failed: ${applied.stderr}`);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...ESO_CRDS.map((c) => `crd/${c}.external-secrets.io`)]);
  if (established.code !== 0) throw new Error(`ESO's CRDs not established: ${established.stderr}`);
  // The garbage collector watches a new kind only after its next discovery (every 30 s): in a cluster
  // moving from ESO the CRDs are long there. Wait until it deletes a dependent of a deleted ESO ExternalSecret.
  const ns = `gc-probe-${randomBytes(3).toString('hex')}`;
  await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  try {
    await waitFor('the garbage collector to follow ESO\'s ExternalSecrets', async () => {
      const owner = await kube().create<EsoObject>(ESO_EXTERNAL_SECRET, { apiVersion: ESO_API, kind: 'ExternalSecret', metadata: { generateName: 'probe-', namespace: ns } as unknown as KubeObject['metadata'], spec: { secretStoreRef: { name: 'none', kind: 'SecretStore' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } });
      await kube().create(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: owner.metadata.name, namespace: ns, ownerReferences: [{ apiVersion: ESO_API, kind: 'ExternalSecret', name: owner.metadata.name, uid: owner.metadata.uid! }] } });
      await kube().delete(ESO_EXTERNAL_SECRET, ns, owner.metadata.name);
      return waitFor('the dependent deleted', async () => (await kube().getOrUndefined(Resources.ConfigMap, ns, owner.metadata.name)) === undefined, 10_000, 200).then(() => true, () => false);
    }, 100_000, 0);
  } finally {
    await kube().delete(Resources.Namespace, undefined, ns);
  }
});

/** ESO's SecretStore for the namespace's OpenBao token, and the value behind `key`. */
async function esoStore(ns: string): Promise<void> {
  await createCredentialSecret(ns, 'vault-token', { token: providerEnv().VAULT_TOKEN! });
  await kube().create<EsoObject>(ESO_STORE, {
    apiVersion: ESO_API, kind: 'SecretStore', metadata: { name: 'vault', namespace: ns },
    spec: { provider: { vault: { server: providerEnv().VAULT_ADDR, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
  });
}

/** ESO's ExternalSecret (with ESO's finalizer, as ESO v2 adds it) reading `<ns>/<name>` from OpenBao. */
async function esoExternalSecret(ns: string, name: string, target = `${name}-secret`): Promise<EsoObject> {
  await vault().write(`secret/data/${ns}/${name}`, { data: { password: PASSWORD, user: name } });
  // Without ESO running, nothing else would ever remove its finalizer: the namespace could not go.
  onTestFinished(async () => {
    await kube().jsonPatch(ESO_EXTERNAL_SECRET, ns, name, [{ op: 'test', path: '/metadata/finalizers', value: [ESO_FINALIZER] }, { op: 'remove', path: '/metadata/finalizers' }]).catch(() => undefined);
  });
  return kube().create<EsoObject>(ESO_EXTERNAL_SECRET, {
    apiVersion: ESO_API, kind: 'ExternalSecret',
    metadata: { name, namespace: ns, finalizers: [ESO_FINALIZER] },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault', kind: 'SecretStore' },
      target: { name: target, creationPolicy: 'Owner' },
      data: [{ secretKey: 'password', remoteRef: { key: `${ns}/${name}`, property: 'password' } }, { secretKey: 'user', remoteRef: { key: `${ns}/${name}`, property: 'user' } }],
    },
  });
}

const esoHash = (data: Record<string, string>) => createHash('md5').update(JSON.stringify(data)).digest('hex');

/** The Secret as ESO v2 creates it for `es`: its field manager, labels, data-hash and controlling ownerReference. */
async function esoWritesSecret(es: EsoObject, target: string, written?: Record<string, string>): Promise<Secret> {
  const { name, namespace, uid } = es.metadata;
  const data = written ?? { password: Buffer.from(PASSWORD).toString('base64'), user: Buffer.from(name).toString('base64') };
  return kube().create<Secret>(Resources.Secret, {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: {
      name: target, namespace,
      labels: { [ESO_MANAGED_LABEL]: 'true', [ESO_CREATED_BY_LABEL]: esoHash({ ns: namespace ?? '', name }) },
      annotations: { [ESO_DATA_HASH_ANNOTATION]: esoHash(data) },
      ownerReferences: [{ apiVersion: ESO_API, kind: 'ExternalSecret', name, uid: uid!, controller: true, blockOwnerDeletion: true }],
    },
    data,
  }, esoManager(name));
}

/** ESO's reconcile of a Secret that lost its label: it puts the label back (a merge patch as its field manager), then rewrites it. */
async function esoWritesBack(ns: string, esName: string, target: string): Promise<void> {
  await kube().request('PATCH', kube().path(Resources.Secret, ns, target), {
    query: { fieldManager: esoManager(esName) },
    body: { metadata: { labels: { [ESO_MANAGED_LABEL]: 'true' } } },
    contentType: 'application/merge-patch+json',
  });
}

/** Every event of a watch on the namespace's Secrets, from now until the test ends. */
function watchSecrets(ns: string): Array<{ type: string; name: string; uid: string }> {
  const seen: Array<{ type: string; name: string; uid: string }> = [];
  const abort = new AbortController();
  onTestFinished(() => abort.abort());
  void (async () => {
    const list = await kube().list<Secret>(Resources.Secret, { namespace: ns });
    const response = await kube().watch(Resources.Secret, { namespace: ns, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 600 }, abort.signal);
    const lines = new LineSplitter();
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      for (const line of lines.push(decoder.decode(chunk, { stream: true }))) {
        const event = JSON.parse(line) as { type: string; object: KubeObject };
        seen.push({ type: event.type, name: event.object.metadata.name, uid: event.object.metadata.uid ?? '' });
      }
    }
  })().catch(() => undefined);
  return seen;
}

interface Deployment extends KubeObject {
  metadata: KubeObject['metadata'] & { generation?: number };
  spec: { replicas?: number; template: { metadata?: { annotations?: Record<string, string> } } };
}

/** A Deployment reading the Secret, annotated to restart when its data changes. */
async function workload(ns: string, name: string, secret: string): Promise<void> {
  await kube().create(WORKLOADS.Deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, annotations: { [RESTART_ON_CHANGE_ANNOTATION]: 'true' } },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: secret } }] }] } } },
  } as KubeObject);
}

/** ESO's controller Deployment, as its chart names and labels it (no kubelet runs its Pods here). */
async function esoDeployment(ns: string): Promise<void> {
  const labels = { 'app.kubernetes.io/name': 'external-secrets' };
  await kube().create(WORKLOADS.Deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'external-secrets', namespace: ns, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'external-secrets', image: 'ghcr.io/external-secrets/external-secrets:v2.9.0' }] } } },
  } as KubeObject);
}

/** The runbook's variables for a namespace, and a directory of its own to run in. */
function envFor(ns: string, esoNs: string): Record<string, string> {
  return { NS: ns, ESO_NAMESPACE: esoNs, ESO_DEPLOYMENT: 'external-secrets', WORKDIR: mkdtempSync(join(work, `${ns}-`)) };
}

/**
 * A namespace as ESO left it (its store, ExternalSecret "app" with ESO's finalizer, and the Secret it
 * wrote), ESO's Deployment in a namespace of its own, and a watch on the namespace's Secrets.
 */
async function namespaceEsoSynced() {
  const ns = await newNamespace();
  const esoNs = await newNamespace();
  await esoDeployment(esoNs);
  await esoStore(ns);
  const before = await esoWritesSecret(await esoExternalSecret(ns, 'app'), 'app-secret');
  return { ns, esoNs, before, watched: watchSecrets(ns), env: envFor(ns, esoNs) };
}

/** What the takeover must leave: the same object, the same bytes, none of ESO's marks, secretsync's instead. */
async function expectTakenOver(before: Secret, es: string): Promise<Secret> {
  const after = (await getSecret(before.metadata.namespace!, before.metadata.name))!;
  expect(after.metadata.uid).toBe(before.metadata.uid);
  expect(after.data).toEqual(before.data);
  expect(after.metadata.labels?.[ESO_MANAGED_LABEL]).toBeUndefined();
  expect(after.metadata.labels?.[ESO_CREATED_BY_LABEL]).toBeUndefined();
  expect(after.metadata.annotations?.[ESO_DATA_HASH_ANNOTATION]).toBeUndefined();
  expect(after.metadata.labels?.[MANAGED_LABEL]).toBe('true');
  expect(after.metadata.annotations?.['secretsync.dev/external-secret']).toBe(es);
  expect(after.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: API_VERSION, kind: 'ExternalSecret', name: es, controller: true })]);
  // ESO's field manager owns nothing any more; ours owns every data key.
  const managers = after.metadata.managedFields ?? [];
  expect(managers.filter((m) => m.manager?.startsWith('externalsecrets.external-secrets.io/'))).toEqual([]);
  const ours = managers.find((m) => m.manager === 'secretsync') as { fieldsV1?: { 'f:data'?: Record<string, unknown> } } | undefined;
  expect(Object.keys(ours?.fieldsV1?.['f:data'] ?? {}).sort()).toEqual(['.', 'f:password', 'f:user']);
  return after;
}

async function deploymentOf(ns: string, name: string): Promise<Deployment> {
  return kube().get<Deployment>(WORKLOADS.Deployment, ns, name);
}

describe('moving a namespace from External Secrets Operator in place', () => {
  let op: TestOperator;
  // The operator as the chart installs it with rolloutRestart.enabled: the shipped RBAC and the restart component's.
  const restartRbac = join(root, 'config/components/rollout-restart/rbac.yaml');
  beforeAll(async () => {
    const kubeConfig = await operatorServiceAccountConfig();
    const applied = await kubectl(['apply', '--server-side', '-f', restartRbac]);
    if (applied.code !== 0) throw new Error(`applying ${restartRbac} failed: ${applied.stderr}`);
    op = await startOperator({ kubeConfig, rolloutRestart: { debounceMs: 300 }, esoRetakeBaseMs: 1000 });
  });
  afterAll(async () => {
    await op.stop();
    await kubectl(['delete', '-f', restartRbac, '--ignore-not-found']);
    expect(op.logs.lines.length).toBeGreaterThan(0);
    expect(op.logs.text).not.toContain(PASSWORD);
    expect(op.logs.text).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });


  it('ESO stopped first: the runbook takes every Secret over with no deletion and no restart, and releases ESO\'s ExternalSecrets past their finalizer', async () => {
    const ns = await newNamespace();
    const esoNs = await newNamespace();
    await esoDeployment(esoNs);
    await esoStore(ns);
    const esoApp = await esoExternalSecret(ns, 'app');
    const esoDb = await esoExternalSecret(ns, 'db', 'db-credentials');
    const before = { app: await esoWritesSecret(esoApp, 'app-secret'), db: await esoWritesSecret(esoDb, 'db-credentials') };
    await workload(ns, 'web', 'app-secret');
    // A dependent of ESO's ExternalSecret that is not a Secret: once the garbage collector has deleted it, it has acted on the deletion.
    const canary = await kube().create(Resources.ConfigMap, {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gc-canary', namespace: ns, ownerReferences: [{ apiVersion: ESO_API, kind: 'ExternalSecret', name: 'app', uid: esoApp.metadata.uid! }] },
    });
    const watched = watchSecrets(ns);
    const env = envFor(ns, esoNs);
    const started = await deploymentOf(ns, 'web');

    await runbook('export', env);
    const converted = await runbook('convert', env);
    // The store and both ExternalSecrets; the cluster-scoped export is an empty List.
    expect(converted).toContain('3 manifest(s) converted, 0 error(s)');
    await runbook('stop-eso', env);
    expect((await kube().get<Deployment>(WORKLOADS.Deployment, esoNs, 'external-secrets')).spec.replicas).toBe(0);
    const writes = async () => ({
      adopt: await op.operator.metrics.total(op.operator.metrics.secretWrites, { operation: 'adopt' }),
      other: (await op.operator.metrics.total(op.operator.metrics.secretWrites)) - (await op.operator.metrics.total(op.operator.metrics.secretWrites, { operation: 'adopt' })),
      patches: await op.operator.metrics.total(op.operator.metrics.kubeRequests, { verb: 'PATCH', resource: 'secrets' }),
    });
    const before0 = await writes();
    await runbook('apply', env);
    const waited = await runbook('wait', env);
    expect(waited).toMatch(/SecretAdopted/);
    // One write per Secret, the takeover itself: no create, no second update.
    const after0 = await writes();
    expect({ adopt: after0.adopt - before0.adopt, other: after0.other - before0.other, patches: after0.patches - before0.patches }).toEqual({ adopt: 2, other: 0, patches: 2 });

    for (const [es, secret] of [['app', before.app], ['db', before.db]] as const) {
      await expectTakenOver(secret, es);
      expect((await events(ns, es)).filter((e) => e.reason === 'SecretAdopted')).toEqual([
        expect.objectContaining({ type: 'Normal', message: expect.stringContaining(`ExternalSecret "${es}"`) as string }),
      ]);
    }

    // ESO's ExternalSecrets still hold their finalizer; release-eso lets them go, and the garbage collector leaves the Secrets.
    const released = await runbook('release', env);
    expect(released).toContain('2 released, 0 kept');
    await waitFor('ESO\'s ExternalSecrets gone', async () => (await kube().list(ESO_EXTERNAL_SECRET, { namespace: ns })).items.length === 0);
    await waitFor('the garbage collector to act on their deletion', async () => (await kube().getOrUndefined(Resources.ConfigMap, ns, canary.metadata.name)) === undefined, 30_000, 200);
    expect((await getSecret(ns, 'app-secret'))?.metadata.uid).toBe(before.app.metadata.uid);
    expect((await getSecret(ns, 'db-credentials'))?.metadata.uid).toBe(before.db.metadata.uid);
    expect(watched.filter((e) => e.type === 'DELETED')).toEqual([]);
    expect(watched.some((e) => e.type === 'MODIFIED' && e.name === 'app-secret')).toBe(true);

    // No restart for the takeover: the first restart is the one a real change of the value brings.
    expect((await deploymentOf(ns, 'web')).metadata.generation).toBe(started.metadata.generation);
    await vault().write(`secret/data/${ns}/app`, { data: { password: `${PASSWORD}-2`, user: 'app' } });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'app', { metadata: { annotations: { 'secretsync.dev/force-sync': '1' } } });
    const restarted = await waitFor('web restarted for the new value', async () => {
      const d = await deploymentOf(ns, 'web');
      return d.spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] ? d : false;
    }, 20_000, 100);
    expect(restarted.metadata.generation).toBe(started.metadata.generation! + 1);
  });

  it('orphan first while ESO runs: the garbage collector drops ESO\'s ownerReference, then the runbook takes the Secret over', async () => {
    const { ns, before, watched, env } = await namespaceEsoSynced();
    await runbook('export', env);
    await runbook('convert', env);
    // A running ESO removes its finalizer from an ExternalSecret being deleted; here the test does.
    const orphaning = runbook('orphan', env);
    await waitFor('ESO\'s ExternalSecret being deleted', async () => (await kube().get<EsoObject>(ESO_EXTERNAL_SECRET, ns, 'app')).metadata.deletionTimestamp !== undefined);
    await kube().jsonPatch(ESO_EXTERNAL_SECRET, ns, 'app', [{ op: 'test', path: '/metadata/finalizers/0', value: ESO_FINALIZER }, { op: 'remove', path: '/metadata/finalizers/0' }]);
    await orphaning;
    const orphaned = await waitFor('the garbage collector to drop ESO\'s ownerReference', async () => {
      const s = await getSecret(ns, 'app-secret');
      return (s?.metadata.ownerReferences ?? []).length === 0 ? s : false;
    }, 30_000, 200);
    expect(orphaned.metadata.labels?.[ESO_MANAGED_LABEL]).toBe('true');

    await runbook('apply', env);
    await runbook('wait', env);
    await expectTakenOver(before, 'app');
    expect((await runbook('release', env))).toContain('0 released, 0 kept');
    expect(watched.filter((e) => e.type === 'DELETED')).toEqual([]);
  });

  it('without the annotation a Secret ESO manages is refused, names the annotation, and is left exactly as it was', async () => {
    const { ns, before } = await namespaceEsoSynced();
    await createSecretsyncStore(ns);
    await ourExternalSecret(ns, 'app', 'app-secret', false);
    const refused = await waitForReady(ns, 'app', 'False', Reason.SecretNotOwned);
    expect(ready(refused)?.message).toContain(`${ADOPT_ESO_ANNOTATION}: "true"`);
    expect(ready(refused)?.message).toContain('docs/migrating-from-eso.md');
    expect((await getSecret(ns, 'app-secret'))?.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    // A Secret ESO does not mark is never taken over, annotation or not.
    await kube().create<Secret>(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'by-hand', namespace: ns }, data: { password: 'eA==' } });
    await ourExternalSecret(ns, 'by-hand', 'by-hand', true);
    expect(ready(await waitForReady(ns, 'by-hand', 'False', Reason.SecretNotOwned))?.message).toContain('not managed by secretsync');
    expect(decoded(await getSecret(ns, 'by-hand'))).toEqual({ password: 'x' });
    const explained = await runCli(['explain', 'SecretNotOwned']);
    expect(explained).toContain(ADOPT_ESO_ANNOTATION);
    expect(explained).toContain('docs/migrating-from-eso.md');
  });

  it('an ESO still running that writes the Secret back is not fought in a loop: secretsync backs off, says so, and holds the Secret once ESO stops', async () => {
    const { ns, before } = await namespaceEsoSynced();
    await createSecretsyncStore(ns);
    await ourExternalSecret(ns, 'app', 'app-secret', true, ['password', 'user']);
    await waitForReady(ns, 'app');
    await expectTakenOver(before, 'app');

    // ESO, still running, puts its label back every time it sees the Secret without it, for 8 seconds
    // (the loop polls: a bounded test of how often secretsync writes, not a wait for a condition).
    const ours: string[] = [];
    let saidSo: string | undefined;
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      const s = (await getSecret(ns, 'app-secret'))!;
      if (s.metadata.labels?.[ESO_MANAGED_LABEL] !== 'true') {
        ours.push(s.metadata.resourceVersion!);
        await esoWritesBack(ns, 'app', 'app-secret');
      }
      const condition = ready(await getES(ns, 'app'));
      if (condition?.status === 'False' && condition.reason === Reason.EsoRunning) saidSo = condition.message;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The takeover, then retakes 1 s, 2 s and 4 s after the one before: 4 writes in 8 s, where a fight would be hundreds.
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(ours.length).toBeLessThanOrEqual(5);
    expect(saidSo).toContain('External Secrets Operator wrote Secret "app-secret" back');
    expect(saidSo).toContain('--cascade=orphan');
    expect((await events(ns, 'app')).some((e) => e.type === 'Warning' && e.reason === Reason.EsoRunning)).toBe(true);

    // ESO stopped: the next retake holds.
    const held = await waitFor('the Secret held without ESO\'s label, and Ready', async () => {
      const s = (await getSecret(ns, 'app-secret'))!;
      return s.metadata.labels?.[ESO_MANAGED_LABEL] === undefined && ready(await getES(ns, 'app'))?.status === 'True' ? s : false;
    }, 30_000, 200);
    expect(held.metadata.uid).toBe(before.metadata.uid);
    expect(held.data).toEqual(before.data);
  });

  it('handing a namespace back to ESO: the runbook\'s rollback leaves the Secret, without secretsync\'s owner or marks', async () => {
    const { ns, esoNs, before, watched, env } = await namespaceEsoSynced();
    for (const step of ['export', 'convert', 'stop-eso', 'apply', 'wait']) await runbook(step, env);
    await expectTakenOver(before, 'app');
    await runbook('hand-back', env);
    const handed = await waitFor('the garbage collector to drop secretsync\'s ownerReference', async () => {
      const s = await getSecret(ns, 'app-secret');
      return (s?.metadata.ownerReferences ?? []).length === 0 ? s : false;
    }, 30_000, 200);
    expect(handed.metadata.uid).toBe(before.metadata.uid);
    expect(handed.data).toEqual(before.data);
    expect(handed.metadata.labels?.[MANAGED_LABEL]).toBeUndefined();
    expect(handed.metadata.annotations?.[HASH_ANNOTATION]).toBeUndefined();
    expect((await kube().get<Deployment>(WORKLOADS.Deployment, esoNs, 'external-secrets')).spec.replicas).toBe(1);
    // ESO's ExternalSecret is still there for ESO to pick up again.
    expect((await kube().get<EsoObject>(ESO_EXTERNAL_SECRET, ns, 'app')).metadata.finalizers).toEqual([ESO_FINALIZER]);
    expect(watched.filter((e) => e.type === 'DELETED')).toEqual([]);
    // ESO's own ExternalSecret must not be left holding its finalizer when the namespace goes.
    await kube().jsonPatch(ESO_EXTERNAL_SECRET, ns, 'app', [{ op: 'remove', path: '/metadata/finalizers' }]);
  });

  it('an ESO ClusterExternalSecret: its ExternalSecrets are taken over namespace by namespace, then release-eso lets it and its namespace finalizer go', async () => {
    const ns = await newNamespace();
    const esoNs = await newNamespace();
    await esoDeployment(esoNs);
    await esoStore(ns);
    await vault().write(`secret/data/${ns}/shared`, { data: { password: PASSWORD, user: 'shared' } });
    const cesName = `shared-${randomBytes(3).toString('hex')}`;
    const esSpec = { refreshInterval: '1h', secretStoreRef: { name: 'vault', kind: 'SecretStore' }, target: { name: 'shared-secret', creationPolicy: 'Owner' }, data: [{ secretKey: 'password', remoteRef: { key: `${ns}/shared`, property: 'password' } }] };
    // ESO's ClusterExternalSecret, as ESO v2 leaves it: its finalizer, its finalizer on the namespace, and the ExternalSecret it made.
    const ces = await kube().create<EsoObject>(ESO_CLUSTER_EXTERNAL_SECRET, {
      apiVersion: ESO_API, kind: 'ClusterExternalSecret', metadata: { name: cesName, finalizers: [ESO_CES_FINALIZER] },
      spec: { externalSecretName: 'shared', namespaces: [ns], externalSecretSpec: esSpec },
    });
    onTestFinished(async () => {
      await kube().jsonPatch(ESO_CLUSTER_EXTERNAL_SECRET, undefined, cesName, [{ op: 'remove', path: '/metadata/finalizers' }]).catch(() => undefined);
      await kube().delete(ESO_CLUSTER_EXTERNAL_SECRET, undefined, cesName);
      await kube().delete(Resources.ClusterExternalSecret, undefined, cesName);
    });
    const namespace = await kube().get<KubeObject>(Resources.Namespace, undefined, ns);
    await kube().jsonPatch(Resources.Namespace, undefined, ns, [{ op: 'add', path: '/metadata/finalizers', value: [...(namespace.metadata.finalizers ?? []), esoNamespaceFinalizer(cesName)] }]);
    onTestFinished(() => kube().jsonPatch(Resources.Namespace, undefined, ns, [{ op: 'remove', path: '/metadata/finalizers' }]).then(() => undefined, () => undefined));
    const made = await kube().create<EsoObject>(ESO_EXTERNAL_SECRET, {
      apiVersion: ESO_API, kind: 'ExternalSecret',
      metadata: { name: 'shared', namespace: ns, finalizers: [ESO_FINALIZER], ownerReferences: [{ apiVersion: ESO_API, kind: 'ClusterExternalSecret', name: cesName, uid: ces.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
      spec: esSpec,
    });
    onTestFinished(() => kube().jsonPatch(ESO_EXTERNAL_SECRET, ns, 'shared', [{ op: 'remove', path: '/metadata/finalizers' }]).then(() => undefined, () => undefined));
    const before = await esoWritesSecret(made, 'shared-secret', { password: Buffer.from(PASSWORD).toString('base64') });
    const watched = watchSecrets(ns);
    const env = envFor(ns, esoNs);

    await runbook('export', env);
    const converted = await runbook('convert', env);
    // The ExternalSecret the ClusterExternalSecret made is left out: secretsync's ClusterExternalSecret makes its own.
    expect(converted).toContain('left out: ClusterExternalSecret');
    for (const step of ['stop-eso', 'apply', 'wait']) await runbook(step, env);
    const after = (await getSecret(ns, 'shared-secret'))!;
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.data).toEqual(before.data);
    expect(after.metadata.annotations?.['secretsync.dev/external-secret']).toBe('shared');
    expect(after.metadata.labels?.[ESO_MANAGED_LABEL]).toBeUndefined();

    const released = await runbook('release', env);
    expect(released).toContain('1 released, 0 kept');
    expect(released).toContain(`released  clusterexternalsecrets.external-secrets.io/${cesName} (and its finalizer on namespace ${ns})`);
    await waitFor('ESO\'s ClusterExternalSecret gone', async () => (await kube().getOrUndefined(ESO_CLUSTER_EXTERNAL_SECRET, undefined, cesName)) === undefined);
    expect((await kube().get<KubeObject>(Resources.Namespace, undefined, ns)).metadata.finalizers ?? []).not.toContain(esoNamespaceFinalizer(cesName));
    expect((await getSecret(ns, 'shared-secret'))?.metadata.uid).toBe(before.metadata.uid);
    expect(watched.filter((e) => e.type === 'DELETED')).toEqual([]);
  });

  it(`${CUTOVER_N} Secrets ESO wrote, taken over at once: each in one write, none deleted, none restarted (the time is reported)`, async () => {
    const ns = await newNamespace();
    await esoStore(ns);
    await createSecretsyncStore(ns);
    await vault().write(`secret/data/${ns}/shared`, { data: { password: PASSWORD, user: 'shared' } });
    const names = Array.from({ length: CUTOVER_N }, (_, i) => `app-${i}`);
    const uids = new Map<string, string>();
    await inBatches(names, async (name) => {
      const es = await kube().create<EsoObject>(ESO_EXTERNAL_SECRET, {
        apiVersion: ESO_API, kind: 'ExternalSecret', metadata: { name, namespace: ns },
        spec: { secretStoreRef: { name: 'vault', kind: 'SecretStore' }, target: { name }, data: [{ secretKey: 'password', remoteRef: { key: `${ns}/shared`, property: 'password' } }] },
      });
      uids.set(name, (await esoWritesSecret(es, name, { password: Buffer.from(PASSWORD).toString('base64') })).metadata.uid!);
    });
    const watched = watchSecrets(ns);
    await workload(ns, 'web', 'app-0');
    const metrics = op.operator.metrics;
    const adoptedBefore = await metrics.total(metrics.secretWrites, { operation: 'adopt' });
    const otherBefore = await metrics.total(metrics.secretWrites);
    const started = performance.now();
    await inBatches(names, (name) => kube().create<ExternalSecret>(Resources.ExternalSecret, {
      apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name, namespace: ns, annotations: { [ADOPT_ESO_ANNOTATION]: 'true' } },
      spec: { secretStoreRef: { name: 'vault' }, target: { name }, data: [{ secretKey: 'password', remoteRef: { key: `${ns}/shared`, property: 'password' } }] },
    }).then(() => undefined));
    await waitFor(`${CUTOVER_N} takeovers`, async () => (await metrics.total(metrics.secretWrites, { operation: 'adopt' })) - adoptedBefore >= CUTOVER_N, 300_000, 250);
    const seconds = (performance.now() - started) / 1000;
    const readyCount = await waitFor('every ExternalSecret Ready', async () => {
      const list = await kube().list<ExternalSecret>(Resources.ExternalSecret, { namespace: ns });
      return list.items.filter((e) => ready(e)?.status === 'True').length === CUTOVER_N ? list.items.length : false;
    }, 120_000, 500);
    expect(readyCount).toBe(CUTOVER_N);
    expect((await metrics.total(metrics.secretWrites)) - otherBefore).toBe(CUTOVER_N);
    const secrets = (await kube().list<Secret>(Resources.Secret, { namespace: ns, labelSelector: MANAGED_LABEL })).items;
    expect(secrets.filter((x) => uids.get(x.metadata.name) === x.metadata.uid && !x.metadata.labels?.[ESO_MANAGED_LABEL])).toHaveLength(CUTOVER_N);
    expect(watched.filter((e) => e.type === 'DELETED')).toEqual([]);
    expect((await deploymentOf(ns, 'web')).spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION]).toBeUndefined();
    process.stdout.write(`cutover: ${CUTOVER_N} Secrets taken over in ${seconds.toFixed(1)} s (${(seconds * 1000 / CUTOVER_N).toFixed(1)} s per 1,000, ExternalSecret creates included), 0 deleted, 0 restarts\n`);
  }, 600_000);
});

/** Runs `fn` over `items`, 16 at a time. */
async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** secretsync's ExternalSecret reading `<ns>/app` from OpenBao into `target`; with `adopt`, annotated to take over what ESO wrote. */
function ourExternalSecret(ns: string, name: string, target: string, adopt: boolean, keys = ['password']): Promise<ExternalSecret> {
  return kube().create<ExternalSecret>(Resources.ExternalSecret, {
    apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name, namespace: ns, annotations: adopt ? { [ADOPT_ESO_ANNOTATION]: 'true' } : undefined },
    spec: { secretStoreRef: { name: 'vault' }, target: { name: target }, data: keys.map((k) => ({ secretKey: k, remoteRef: { key: `${ns}/app`, property: k } })) },
  });
}

/** secretsync's own store, as migrate converts ESO's (for the tests that skip the runbook). */
async function createSecretsyncStore(ns: string): Promise<void> {
  await kube().create(Resources.SecretStore, {
    apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name: 'vault', namespace: ns },
    spec: { provider: { vault: { server: providerEnv().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
  } as KubeObject);
}


async function runCli(args: string[]): Promise<string> {
  const { run } = await import('./harness.js');
  const { stdout } = await run(process.execPath, [join(root, 'dist/bundle/main.mjs'), ...args], { env: { ...process.env, NO_COLOR: '1' } });
  return stdout;
}
