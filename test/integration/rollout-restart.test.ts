// Rotation that reaches the workload: when a Secret's data really changes,
// the workloads that use it get a new Pod template annotation (their
// controllers then roll the Pods). On the local control plane a Deployment's
// template annotation and generation show that; no kubelet is needed.
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HASH_ANNOTATION, RESTART_ON_CHANGE_ANNOTATION, RESTARTED_FOR_ANNOTATION } from '../../src/api/names.js';
import { RestartReason } from '../../src/api/reasons.js';
import type { ExternalSecret, SecretStoreSpec } from '../../src/api/types.js';
import { restartedFor } from '../../src/controllers/externalsecret/workload-restarts.js';
import { loadInstallationKey } from '../../src/installation-key.js';
import type { OperatorOptions } from '../../src/operator.js';
import { Resources, WORKLOADS, type KubeObject } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, events, fakeStoreSpec, getES, getSecret, kube, kubectl, newNamespace, operatorServiceAccountConfig, startOperator, waitFor, waitForReady,
} from './harness.js';

const DEBOUNCE_MS = 300;

interface Deployment extends KubeObject {
  metadata: KubeObject['metadata'] & { generation?: number };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
}

type PodSpec = Record<string, unknown>;
const container = (extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'registry.example/app:1', ...extra });

async function deployment(namespace: string, name: string, podSpec: PodSpec = { containers: [container()] }, annotations?: Record<string, string>): Promise<void> {
  await kube().create(WORKLOADS.Deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, annotations, labels: { app: name } },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec } },
  } as KubeObject);
}

async function template(namespace: string, name: string): Promise<{ generation: number; restartedFor?: string }> {
  const d = await kube().get<Deployment>(WORKLOADS.Deployment, namespace, name);
  return { generation: d.metadata.generation ?? 0, restartedFor: d.spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] };
}

/**
 * The restarted-for value a restart for these Secrets' current data writes, once each holds
 * the wanted value under `key` (computed as the operator does, with the installation's key).
 */
async function expectedRestart(namespace: string, secrets: Record<string, string>, key = 'password'): Promise<string> {
  const hashes = await Promise.all(Object.entries(secrets).map(([secret, value]) => waitFor(`Secret ${secret} = new data`, async () => {
    const s = await getSecret(namespace, secret);
    return decoded(s)[key] === value ? { secret, dataHash: s!.metadata.annotations![HASH_ANNOTATION]! } : false;
  })));
  return restartedFor(await loadInstallationKey(kube(), 'secretsync-system'), hashes);
}

/** Waits until the Deployment's template was restarted for exactly `value`. */
const restartedWith = (namespace: string, name: string, value: string) =>
  waitFor(`${namespace}/${name} restarted for the new data`, async () => {
    const t = await template(namespace, name);
    return t.restartedFor === value ? t : false;
  }, 20_000, 100);

async function operator(opts: Partial<OperatorOptions> = {}) {
  const op = await startOperator({ rolloutRestart: { debounceMs: DEBOUNCE_MS }, ...opts });
  onTestFinished(() => op.stop());
  return op;
}

/** A new version of the store's values: every ExternalSecret reading them syncs again. */
async function setValues(namespace: string, values: Record<string, string>): Promise<void> {
  const spec: SecretStoreSpec = fakeStoreSpec(Object.entries(values).map(([key, value]) => ({ key, value })));
  await kube().mergePatch(Resources.SecretStore, namespace, 'fake', { spec });
}

const restartCondition = (es: ExternalSecret) => es.status?.conditions?.find((c) => c.type === 'RolloutRestart');

describe('restarting the workloads that use a changed Secret', () => {
  it('a named Deployment restarts once per real change of the data: not on creation, not on a refresh that changes nothing', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns });
    await deployment(ns, 'app');
    // A second ExternalSecret restarting its own workload: once its restart shows, every earlier
    // debounce window has closed, so what did not happen to "app" by then did not happen at all.
    await deployment(ns, 'probe');
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }, { key: 'probe', value: 'p1' }]));
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }],
      target: { rolloutRestart: [{ kind: 'Deployment', name: 'app' }] },
    });
    await createExternalSecret(ns, 'probe', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'probe' } }],
      target: { rolloutRestart: [{ kind: 'Deployment', name: 'probe' }] },
    });
    await waitForReady(ns, 'db');
    await waitForReady(ns, 'probe');
    const probeChange = async (value: string) => {
      await setValues(ns, { db: (decoded(await getSecret(ns, 'db'))).password!, probe: value });
      await restartedWith(ns, 'probe', await expectedRestart(ns, { probe: value }));
    };

    await probeChange('p2');
    expect(await template(ns, 'app'), 'the first sync restarted nothing').toEqual({ generation: 1, restartedFor: undefined });

    await setValues(ns, { db: 'v2', probe: 'p2' });
    const first = await restartedWith(ns, 'app', await expectedRestart(ns, { db: 'v2' }));
    expect(first.generation).toBe(2);
    const es = await waitFor('status to list the restart', async () => {
      const e = await getES(ns, 'db');
      return e.status?.restarts?.length ? e : false;
    });
    expect(es.status!.restarts!.map((r) => [r.kind, r.name, typeof r.restartedAt])).toEqual([['Deployment', 'app', 'string']]);
    expect(restartCondition(es)).toMatchObject({ status: 'True', reason: RestartReason.Restarted });
    await waitFor('Events on the Deployment and the ExternalSecret', async () =>
      (await events(ns, 'app')).some((e) => e.reason === 'Restarted' && e.message.includes('"db"')) &&
      (await events(ns, 'db')).some((e) => e.reason === RestartReason.Restarted));

    // A forced refresh that brings the same data writes nothing and restarts nothing.
    await kube().mergePatch(Resources.ExternalSecret, ns, 'db', { metadata: { annotations: { 'secretsync.dev/force-sync': '1' } } });
    await waitFor('the forced refresh', async () => (await getES(ns, 'db')).status?.refreshTime !== es.status?.refreshTime);
    await probeChange('p3');
    expect((await template(ns, 'app')).generation, 'the no-op refresh restarted nothing').toBe(2);

    await setValues(ns, { db: 'v3', probe: 'p3' });
    const second = await restartedWith(ns, 'app', await expectedRestart(ns, { db: 'v3' }));
    expect(second.generation).toBe(3);
  });

  it('three Secrets changed together restart a workload that uses all three once', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns });
    await deployment(ns, 'web', {
      containers: [container({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'v' } } }], envFrom: [{ secretRef: { name: 's2' } }] })],
      volumes: [{ name: 'c', secret: { secretName: 's3' } }],
    }, { [RESTART_ON_CHANGE_ANNOTATION]: 'true' });
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k1', value: 'a' }, { key: 'k2', value: 'a' }, { key: 'k3', value: 'a' }]));
    for (const i of [1, 2, 3]) await createExternalSecret(ns, `s${i}`, { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: `k${i}` } }] });
    for (const i of [1, 2, 3]) await waitForReady(ns, `s${i}`);
    await setValues(ns, { k1: 'b', k2: 'b', k3: 'b' });
    // One value for all three Secrets' new data: a restart per Secret would have written others first.
    const restarted = await restartedWith(ns, 'web', await expectedRestart(ns, { s1: 'b', s2: 'b', s3: 'b' }, 'v'));
    // Every ExternalSecret records the one restart.
    for (const i of [1, 2, 3]) {
      await waitFor(`s${i} to record it`, async () => (await getES(ns, `s${i}`)).status?.restarts?.some((r) => r.name === 'web'));
    }
    expect(restarted.generation).toBe(2);
    expect((await template(ns, 'web')).generation).toBe(2);
  });

  it('an annotated workload is found through env, envFrom, a secret volume and a projected volume; not through imagePullSecrets, and not without the annotation', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns });
    const opted = { [RESTART_ON_CHANGE_ANNOTATION]: 'true' };
    await deployment(ns, 'by-env', { containers: [container({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] })] }, opted);
    await deployment(ns, 'by-envfrom', { containers: [container({ envFrom: [{ secretRef: { name: 'db' } }] })] }, opted);
    await deployment(ns, 'by-volume', { containers: [container()], volumes: [{ name: 'v', secret: { secretName: 'db' } }] }, opted);
    await deployment(ns, 'by-projected', { containers: [container()], volumes: [{ name: 'v', projected: { sources: [{ secret: { name: 'db' } }] } }] }, opted);
    await deployment(ns, 'by-pull-secret', { containers: [container()], imagePullSecrets: [{ name: 'db' }] }, opted);
    await deployment(ns, 'not-annotated', { containers: [container({ envFrom: [{ secretRef: { name: 'db' } }] })] });
    await deployment(ns, 'other-secret', { containers: [container({ envFrom: [{ secretRef: { name: 'other' } }] })] }, opted);
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }]));
    await createExternalSecret(ns, 'db', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }] });
    await waitForReady(ns, 'db');
    await setValues(ns, { db: 'v2' });
    // One window restarted them all: the status lists exactly what it restarted.
    const es = await waitFor('the restarts', async () => {
      const e = await getES(ns, 'db');
      return (e.status?.restarts?.length ?? 0) > 0 ? e : false;
    });
    expect(es.status!.restarts!.map((r) => r.name).sort()).toEqual(['by-env', 'by-envfrom', 'by-projected', 'by-volume']);
    for (const name of ['by-env', 'by-envfrom', 'by-volume', 'by-projected']) expect((await template(ns, name)).generation, name).toBe(2);
    for (const name of ['by-pull-secret', 'not-annotated', 'other-secret']) expect(await template(ns, name), name).toEqual({ generation: 1, restartedFor: undefined });
  });

  it("another namespace's workload of the same name is never touched, and a missing workload is a Warning, not a failed sync", async () => {
    const ns = await newNamespace();
    const other = await newNamespace();
    await operator();
    await deployment(ns, 'app');
    await deployment(other, 'app');
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }]));
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }],
      target: { rolloutRestart: [{ kind: 'Deployment', name: 'app' }, { kind: 'Deployment', name: 'missing' }, { kind: 'StatefulSet', selector: { matchLabels: { app: 'app' } } }] },
    });
    await waitForReady(ns, 'db');
    await setValues(ns, { db: 'v2' });
    await restartedWith(ns, 'app', await expectedRestart(ns, { db: 'v2' }));
    const es = await waitFor('the WorkloadNotFound condition', async () => {
      const e = await getES(ns, 'db');
      return restartCondition(e)?.reason === RestartReason.NotFound ? e : false;
    });
    expect(restartCondition(es)!.message).toContain('Deployment "missing" not found');
    expect(es.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(es.status?.restarts?.map((r) => r.name)).toEqual(['app']);
    await waitFor('a Warning Event', async () => (await events(ns, 'db')).some((e) => e.type === 'Warning' && e.reason === RestartReason.NotFound));
    expect(await template(other, 'app')).toEqual({ generation: 1, restartedFor: undefined });
  });

  it('without --rollout-restart an ExternalSecret that asks for restarts says so in a condition, and stays Ready', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns, rolloutRestart: undefined });
    await deployment(ns, 'app');
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }]));
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }], target: { rolloutRestart: [{ kind: 'Deployment', name: 'app' }] },
    });
    const es = await waitFor('the RolloutRestartDisabled condition', async () => {
      const e = await getES(ns, 'db');
      return restartCondition(e)?.reason === RestartReason.Disabled ? e : false;
    });
    expect(es.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });

  it('with the shipped RBAC alone a restart is refused and said so; the rollout-restart component grants it', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns, kubeConfig: await operatorServiceAccountConfig() });
    await deployment(ns, 'app');
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }]));
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }], target: { rolloutRestart: [{ kind: 'Deployment', name: 'app' }] },
    });
    await waitForReady(ns, 'db');
    await setValues(ns, { db: 'v2' });
    const refused = await waitFor('the RestartForbidden condition', async () => {
      const e = await getES(ns, 'db');
      return restartCondition(e)?.reason === RestartReason.Forbidden ? e : false;
    });
    expect(restartCondition(refused)!.message).toContain('rolloutRestart');
    expect(refused.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(await template(ns, 'app')).toEqual({ generation: 1, restartedFor: undefined });

    const rbac = join(import.meta.dirname, '../../config/components/rollout-restart/rbac.yaml');
    const applied = await kubectl(['apply', '--server-side', '-f', rbac]);
    expect(applied.code, applied.stderr).toBe(0);
    onTestFinished(async () => void (await kubectl(['delete', '-f', rbac, '--ignore-not-found'])));
    await setValues(ns, { db: 'v3' });
    await restartedWith(ns, 'app', await expectedRestart(ns, { db: 'v3' }));
    await waitFor('the condition to clear', async () => restartCondition(await getES(ns, 'db'))?.status === 'True');
  });
});


describe('restarting Argo Rollouts', () => {
  const ROLLOUT_CRD = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'rollouts.argoproj.io' },
    spec: {
      group: 'argoproj.io', scope: 'Namespaced', names: { plural: 'rollouts', singular: 'rollout', kind: 'Rollout' },
      versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false };

  it('without the Rollout CRD the ExternalSecret says so; once it exists, a Rollout restarts like a Deployment', async () => {
    const ns = await newNamespace();
    await operator({ watchNamespace: ns });
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'db', value: 'v1' }]));
    await createExternalSecret(ns, 'db', {
      secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'password', remoteRef: { key: 'db' } }], target: { rolloutRestart: [{ kind: 'Rollout', name: 'canary' }] },
    });
    await waitForReady(ns, 'db');
    await setValues(ns, { db: 'v2' });
    const missing = await waitFor('the kind reported missing', async () => {
      const e = await getES(ns, 'db');
      return restartCondition(e)?.reason === RestartReason.NotFound ? e : false;
    });
    expect(restartCondition(missing)!.message).toContain('Argo Rollouts installed');

    await kube().create(CRDS, ROLLOUT_CRD);
    onTestFinished(() => kube().delete(CRDS, undefined, 'rollouts.argoproj.io'));
    await waitFor('the Rollout API', async () => (await kubectl(['get', 'rollouts', '-n', ns])).code === 0, 30_000, 250);
    await kube().create(WORKLOADS.Rollout, {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'canary', namespace: ns },
      spec: { selector: { matchLabels: { app: 'canary' } }, template: { metadata: { labels: { app: 'canary' } }, spec: { containers: [container()] } } },
    } as KubeObject);
    await setValues(ns, { db: 'v3' });
    const value = await expectedRestart(ns, { db: 'v3' });
    await waitFor('the Rollout restarted', async () => {
      const r = await kube().get<Deployment>(WORKLOADS.Rollout, ns, 'canary');
      return r.spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] === value;
    });
    await waitFor('the condition to clear', async () => restartCondition(await getES(ns, 'db'))?.status === 'True');
  });
});
