// Installing secretsync the way platform teams do: the Helm chart (linted,
// rendered for the cluster-wide and the namespace-scoped values, installed
// for real into the local control plane) and the kustomize base, which must
// not drift apart; then the shipped bundle run with nothing but the
// permissions the chart grants, cluster-wide and namespace-scoped. This
// control plane has no node, so here the bundle runs as a process with the
// ServiceAccount's own token; test/e2e runs the chart's Pods on a real kubelet.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Resources, WORKLOADS, type KubeObject } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, fakeStoreSpec, freePort, helm, kube, kubeConfig, kubectl, newNamespace, scrapeMetric, spawnOperator, stateDir, terminate, waitFor, waitForReady,
} from './harness.js';

const root = join(import.meta.dirname, '../..');
const chart = join(root, 'deploy/charts/secretsync');

type Obj = KubeObject & { kind: string; rules?: unknown[]; spec?: Record<string, unknown> };
const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJSON() as Obj).filter(Boolean);
const byKind = (objs: Obj[], kind: string, name?: RegExp) => objs.filter((o) => o.kind === kind && (!name || name.test(o.metadata.name)));
type Container = { args: string[]; env: unknown[]; securityContext: unknown; resources: unknown; readinessProbe: unknown; livenessProbe: unknown };
const container = (o: Obj) => (o.spec as { template: { spec: { containers: Container[]; securityContext: unknown } } }).template.spec;

/** A kubeconfig file for a ServiceAccount's own token (TokenRequest), as a Pod would use. */
async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const { token } = await kube().createToken(namespace, name, [], 3600);
  const cluster = kubeConfig().getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [cluster], users: [{ name, token }], contexts: [{ name, cluster: cluster.name, user: name }], currentContext: name });
  const file = join(stateDir(), `kubeconfig-${namespace}-${name}`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

describe('installing with Helm and kustomize', () => {
  it('the chart lints, and its values schema refuses a typo or a bad value', async () => {
    for (const values of [[], ['--set', 'watchNamespace=team-a']]) {
      const lint = await helm(['lint', chart, '--strict', ...values]);
      expect(lint.stderr + lint.stdout, values.join(' ')).toContain('0 chart(s) failed');
    }
    const typo = await helm(['template', 't', chart, '--set', 'replicas=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("additional properties 'replicas' not allowed");
    const badLevel = await helm(['template', 't', chart, '--set', 'logLevel=verbose']);
    expect(badLevel.stderr).toContain('/logLevel');
  });

  it('the getting-started commands name what the chart installs: the Deployment, its Pods\' label, the leader Lease, the image values', async () => {
    const page = readFileSync(join(root, 'docs/getting-started.md'), 'utf8');
    const install = /helm install (\S+) deploy\/charts\/secretsync --namespace (\S+) --create-namespace \\\n\s+(--set .+)\n/.exec(page)!;
    const sets = install[3]!.split(/\s+/).filter((a) => a !== '--set');
    const rendered = await helm(['template', install[1]!, chart, '--namespace', install[2]!, ...sets.flatMap((v) => ['--set', v])]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const deployment = byKind(docs(rendered.stdout), 'Deployment')[0] as Obj & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ image: string; args: string[] }> } } } };
    const rollout = /kubectl rollout status deployment\/(\S+) -n (\S+)/.exec(page)!;
    expect([deployment.metadata.name, install[2]]).toEqual([rollout[1], rollout[2]]);
    const [, key, value] = /kubectl get pods -n \S+ -l (\S+)=(\S+)/.exec(page)!;
    expect(deployment.spec.template.metadata.labels[key!]).toBe(value);
    expect(deployment.spec.template.spec.containers[0]!.image).toBe('registry.example.com/platform/secretsync:0.1.0');
    const lease = /the Lease `(\S+)` in `(\S+)` names it/.exec(page)!;
    expect(deployment.spec.template.spec.containers[0]!.args).toContain(`--leader-elect-id=${lease[1]}`);
    expect(lease[2]).toBe(install[2]);
  });

  it('the chart and the kustomize base do not drift: same CRDs, permissions and container', async () => {
    for (const file of ['externalsecrets.yaml', 'secretstores.yaml', 'clustersecretstores.yaml', 'clusterexternalsecrets.yaml']) {
      expect(readFileSync(join(chart, 'crds', file), 'utf8'), `${file}: run make generate`).toBe(readFileSync(join(root, 'crds', file), 'utf8'));
    }
    const rendered = await helm(['template', 'secretsync', chart, '--namespace', 'secretsync-system', '--include-crds']);
    expect(rendered.code).toBe(0);
    const fromChart = docs(rendered.stdout);
    const built = await kubectl(['kustomize', join(root, 'config/default')]);
    expect(built.code).toBe(0);
    const fromBase = docs(built.stdout);
    expect(byKind(fromChart, 'CustomResourceDefinition').map((c) => c.spec)).toEqual(byKind(fromBase, 'CustomResourceDefinition').map((c) => c.spec));
    expect(byKind(fromChart, 'ClusterRole')[0]!.rules).toEqual(byKind(fromBase, 'ClusterRole')[0]!.rules);
    expect(byKind(fromChart, 'Role', /leader/)[0]!.rules).toEqual(byKind(fromBase, 'Role', /leader/)[0]!.rules);
    const [a, b] = [container(byKind(fromChart, 'Deployment')[0]!), container(byKind(fromBase, 'Deployment')[0]!)];
    expect(a.securityContext).toEqual(b.securityContext);
    for (const field of ['env', 'securityContext', 'resources', 'readinessProbe', 'livenessProbe'] as const) expect(a.containers[0]![field], field).toEqual(b.containers[0]![field]);
    for (const arg of b.containers[0]!.args) expect(a.containers[0]!.args.some((x) => x.startsWith(arg.split('=')[0]!))).toBe(true);
    expect((byKind(fromChart, 'Deployment')[0]!.spec as { replicas: number }).replicas).toBe((byKind(fromBase, 'Deployment')[0]!.spec as { replicas: number }).replicas);
  });

  it('rollout restarts: the chart value and the kustomize component grant the same permissions and pass the flag; off, neither does', async () => {
    const on = docs((await helm(['template', 'secretsync', chart, '--namespace', 'secretsync-system', '--set', 'rolloutRestart.enabled=true', '--set', 'rolloutRestart.debounce=2s'])).stdout);
    const off = docs((await helm(['template', 'secretsync', chart, '--namespace', 'secretsync-system'])).stdout);
    const restartRules = (objs: Obj[]) => objs.filter((o) => o.kind === 'ClusterRole').flatMap((o) => o.rules as Array<{ apiGroups: string[] }>)
      .filter((r) => r.apiGroups.includes('apps') || r.apiGroups.includes('argoproj.io'));
    expect(restartRules(off)).toEqual([]);
    expect(container(byKind(off, 'Deployment')[0]!).containers[0]!.args).not.toContain('--rollout-restart');
    expect(container(byKind(on, 'Deployment')[0]!).containers[0]!.args).toEqual(expect.arrayContaining(['--rollout-restart', '--restart-debounce=2s']));
    const overlay = join(stateDir(), 'overlay-rollout-restart');
    mkdirSync(overlay, { recursive: true });
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${relative(overlay, join(root, 'config/default'))}]\ncomponents: [${relative(overlay, join(root, 'config/components/rollout-restart'))}]\n`);
    const built = await kubectl(['kustomize', overlay]);
    expect(built.code, built.stderr).toBe(0);
    const withComponent = docs(built.stdout);
    expect(restartRules(withComponent)).toEqual(restartRules(on));
    expect(container(byKind(withComponent, 'Deployment')[0]!).containers[0]!.args).toContain('--rollout-restart');
  });

  it('kubectl kustomize config/default renders, and the API server accepts it', async () => {
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '-k', join(root, 'config/default')]);
    expect(applied.code).toBe(0);
    // kubectl warns about objects another test applied client-side before; anything else is a failure.
    expect(applied.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: failed to migrate'))).toEqual([]);
    expect(applied.stdout).toContain('deployment.apps/secretsync serverside-applied (server dry run)');
    expect(applied.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/externalsecrets.secretsync.dev serverside-applied (server dry run)');
  });

  it('helm install: the API server takes every object, and the bundle syncs with only the chart’s permissions (leader Lease, TokenRequest included)', async () => {
    const release = `ss-${Date.now().toString(36)}`;
    const releaseNs = await newNamespace();
    const installed = await helm(['install', release, chart, '--namespace', releaseNs, '--set', 'replicaCount=2', '--wait=false']);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    try {
      const deployment = await kube().get<Obj>(WORKLOADS.Deployment, releaseNs, `${release}-secretsync`);
      expect(container(deployment).containers[0]!.args).toContain('--leader-elect');
      // The Deployment's Pods cannot run here (no kubelet): run the same bundle as its ServiceAccount.
      const kubeconfig = await serviceAccountKubeconfig(releaseNs, `${release}-secretsync`);
      const ns = await newNamespace();
      await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k', value: 'v' }]));
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }] });
      // ServiceAccount-token auth for a Vault-like provider: TokenRequest works under the chart's ClusterRole.
      await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
      const port = await freePort();
      const op = spawnOperator(['--namespace', releaseNs, '--leader-elect', '--leader-elect-id', `${release}-secretsync-leader`, '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1', '--watch-namespace', ns], { KUBECONFIG: kubeconfig });
      await waitForReady(ns, 'es', 'True', undefined, 30_000);
      expect(await scrapeMetric(port, 'secretsync_leader')).toBe(1);
      expect(await scrapeMetric(port, 'secretsync_kube_requests_total', { code: '403' })).toBe(0);
      const tokenAsOperator = await new Promise<number>((resolve) => {
        execFile(join(process.env.HOME ?? '', '.cache/secretsync/kubernetes-1.34.4/kubectl'), ['--kubeconfig', kubeconfig, 'create', 'token', 'app', '-n', ns], (err) => resolve(err ? 1 : 0));
      });
      expect(tokenAsOperator).toBe(0);
      expect((await terminate(op)).code).toBe(0);
    } finally {
      await helm(['uninstall', release, '--namespace', releaseNs]);
    }
  }, 90_000);

  it('a namespace-scoped install syncs its namespace, and an instance without permissions says so and keeps running', async () => {
    const release = `ssns-${Date.now().toString(36)}`;
    const releaseNs = await newNamespace();
    const ns = await newNamespace();
    const installed = await helm(['install', release, chart, '--namespace', releaseNs, '--set', `watchNamespace=${ns}`]);
    expect(installed.code).toBe(0);
    try {
      const rendered = docs((await helm(['get', 'manifest', release, '--namespace', releaseNs])).stdout);
      // One cluster-wide permission, and only that one: TokenReviews, for stores that name token audiences.
      const clusterRoles = byKind(rendered, 'ClusterRole') as Array<{ rules: unknown[] }>;
      expect(clusterRoles.map((r) => r.rules)).toEqual([[{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }]]);
      const canReview = await kubectl(['auth', 'can-i', 'create', 'tokenreviews.authentication.k8s.io', '--as', `system:serviceaccount:${releaseNs}:${release}-secretsync`]);
      expect(canReview.stdout.trim()).toBe('yes');
      const canList = await kubectl(['auth', 'can-i', 'list', 'secrets', '--all-namespaces', '--as', `system:serviceaccount:${releaseNs}:${release}-secretsync`]);
      expect(canList.stdout.trim()).toBe('no');
      const args = container(byKind(rendered, 'Deployment')[0]!).containers[0]!.args;
      expect(args).toEqual(expect.arrayContaining([`--watch-namespace=${ns}`, '--no-cluster-secret-stores']));
      const kubeconfig = await serviceAccountKubeconfig(releaseNs, `${release}-secretsync`);
      await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k', value: 'v' }]));
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }] });
      await createExternalSecret(ns, 'wants-cluster-store', { secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }] });
      const op = spawnOperator(['--namespace', releaseNs, '--watch-namespace', ns, '--no-cluster-secret-stores'], { KUBECONFIG: kubeconfig });
      await waitForReady(ns, 'es', 'True', undefined, 30_000);
      const refused = await waitForReady(ns, 'wants-cluster-store', 'False', 'StoreNotFound');
      expect(refused.status?.conditions?.[0]?.message).toContain('reads no cluster-wide objects');

      // The same permissions, pointed at a namespace they do not cover.
      const elsewhere = await newNamespace();
      const port = await freePort();
      const lost = spawnOperator(['--namespace', releaseNs, '--watch-namespace', elsewhere, '--no-cluster-secret-stores', '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1'], { KUBECONFIG: kubeconfig });
      await waitFor('a clear refusal in the log', () => lost.output.some((l) => l.includes('forbidden') && l.includes(elsewhere)), 20_000, 100);
      // Still running and not ready: no crash loop.
      const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(readyz.status).toBe(503);
      expect(lost.child.exitCode).toBeNull();
      expect((await terminate(lost)).code).toBe(0);
      expect((await terminate(op)).code).toBe(0);
    } finally {
      await helm(['uninstall', release, '--namespace', releaseNs]);
    }
  }, 90_000);
});

