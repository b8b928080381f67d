// The Helm chart installed as users install it, its Pods started by a real
// kubelet from the image `make image` built: in-cluster config through the
// projected token and the `kubernetes` Service, probes, leader election
// between Pods, the memory limit sizing the heap, the security context in
// force, then a leader's Pod deleted, an upgrade, three replicas sharded (one
// killed), and an uninstall.
// The steps share one release and run in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pool } from '../../bench/baselines.js';
import { API_VERSION, Resources, type KubeObject } from '../../src/kube/types.js';
import { SHARD_HOLDS_ANNOTATION, SHARD_RING_LABEL } from '../../src/api/names.js';
import { BUCKET_COUNT, bucketOf, parseBuckets } from '../../src/runtime/sharding/buckets.js';
import { signRefresh } from '../../src/refresh-events/webhook.js';
import {
  createCredentialSecret, createExternalSecret, createStore, fakeStoreSpec, getSecret, kube, kubectl, stateDir, waitFor, waitForReady,
} from '../integration/harness.js';
import {
  chart, containerProcess, helm, holderPod, lease, nodeEnv, podLog, readyPods, vaultStore, waitForSecretData, watchLeadership, Workloads, writeVault, type Pod,
} from './node.js';

const NS = 'secretsync-system';
const RELEASE = 'secretsync';
const SELECTOR = 'app.kubernetes.io/name=secretsync,app.kubernetes.io/instance=secretsync';
const LEASE = 'secretsync-leader';
const LEASE_MS = 15_000;
const TENANT = 'tenant-a';
const MiB = 2 ** 20;
// How many ExternalSecrets the memory check runs the leader at (E2E_SCALE to change).
const SCALE = Number(process.env.E2E_SCALE ?? 10_000);

const imageValues = () => {
  const ref = nodeEnv().IMAGE_REF!;
  const at = ref.lastIndexOf(':');
  return ['--set', `image.repository=${ref.slice(0, at)}`, '--set', `image.tag=${ref.slice(at + 1)}`, '--set', 'image.pullPolicy=Never'];
};
const install = (verb: 'install' | 'upgrade', extra: string[] = []) =>
  helm([verb, RELEASE, chart, '--namespace', NS, ...(verb === 'install' ? ['--create-namespace'] : []), ...imageValues(), '--set', 'networkPolicy.enabled=true',
    '--set', 'refreshEvents.webhook.enabled=true', '--wait', '--timeout', '180s', ...extra]);
const WEBHOOK_KEY = randomBytes(32);

/** A signed refresh event, POSTed to the chart's webhook Service through the API server's service proxy. */
async function sendRefreshEvent(event: object, key: Uint8Array = WEBHOOK_KEY): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const cp = stateDir();
  const { stdout } = await promisify(execFile)('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '--cacert', join(cp, 'certs/apiserver.crt'),
    '-H', `Authorization: Bearer ${readFileSync(join(cp, 'admin-token'), 'utf8').trim()}`, '-H', 'Content-Type: application/json',
    '-H', `X-Secretsync-Timestamp: ${timestamp}`, '-H', `X-Secretsync-Signature: ${signRefresh(key, timestamp, body)}`,
    '--data-binary', body, `https://${nodeEnv().NODE_IP}:46443/api/v1/namespaces/${NS}/services/${RELEASE}-webhook:webhook/proxy/hooks/refresh`]);
  const lines = stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n').trim() };
}

let awsClient: SecretsManagerClient | undefined;
const sm = () => (awsClient ??= new SecretsManagerClient({ endpoint: nodeEnv().AWS_ENDPOINT_URL, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }));

describe('the Helm chart on a real node', () => {
  let operatorPods: Pod[] = [];

  beforeAll(async () => {
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } });
    await writeVault('tenant-a/app', { password: 'bao-v1' });
    await sm().send(new CreateSecretCommand({ Name: 'tenant-a/db', SecretString: JSON.stringify({ user: 'app', password: 'aws-v1' }) }));
    // The webhook's signing key, before the release that reads it.
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }).catch(() => undefined);
    await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secretsync-webhook', namespace: NS }, data: { key: WEBHOOK_KEY.toString('base64') } });
    const installed = await install('install');
    expect(installed.stderr + installed.stdout, 'helm install').not.toMatch(/Error/);
    expect(installed.code).toBe(0);
  });

  afterAll(async () => {
    awsClient?.destroy();
    await helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
    await kube().delete(Resources.Namespace, undefined, TENANT).catch(() => undefined);
  });

  it('both replicas Running and Ready through their probes, on in-cluster config; one leads, the other follows', async () => {
    operatorPods = await readyPods(NS, SELECTOR, 2);
    for (const pod of operatorPods) {
      expect(pod.spec.nodeName).toBe(nodeEnv().NODE_NAME);
      // The projected ServiceAccount token the kubelet mounts, and no kubeconfig anywhere.
      expect(pod.spec.volumes?.some((v) => v.projected?.sources.some((s) => 'serviceAccountToken' in s))).toBe(true);
      expect(pod.spec.containers[0]!.env?.map((e) => e.name)).not.toContain('KUBECONFIG');
      const starting = (await podLog(NS, pod.metadata.name)).find((l) => l.msg === 'starting')!;
      expect(starting.kubeConfig).toBe('in-cluster');
      // KUBERNETES_SERVICE_HOST: the `kubernetes` Service's ClusterIP, which kube-proxy sends to the API server.
      expect(starting.server).toBe('https://10.96.0.1:443');
    }
    const leaseNow = await waitFor('a leader', async () => ((await lease(NS, LEASE)).holder ? lease(NS, LEASE) : false), 30_000, 250);
    const leader = holderPod(leaseNow, operatorPods)!;
    expect(leader, `holder ${leaseNow.holder}`).toBeDefined();
    const follower = operatorPods.find((p) => p !== leader)!;
    const followerLog = await podLog(NS, follower.metadata.name);
    expect(followerLog.some((l) => l.msg === 'waiting to become the leader')).toBe(true);
    expect(followerLog.some((l) => l.msg === 'became the leader')).toBe(false);
    expect((await podLog(NS, leader.metadata.name)).some((l) => l.msg === 'became the leader')).toBe(true);
  });

  it('syncs from OpenBao and from AWS Secrets Manager (moto) in a tenant namespace', async () => {
    await vaultStore(TENANT);
    await createCredentialSecret(TENANT, 'aws-creds', { id: 'testing', secret: 'testing' });
    await createStore(TENANT, 'aws', {
      provider: {
        aws: {
          service: 'SecretsManager', region: 'us-east-1', endpoint: nodeEnv().AWS_ENDPOINT_URL,
          auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } },
        },
      },
    });
    await createExternalSecret(TENANT, 'from-bao', {
      refreshInterval: '5s', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'password', remoteRef: { key: 'tenant-a/app', property: 'password' } }],
    });
    await createExternalSecret(TENANT, 'from-aws', {
      secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'password', remoteRef: { key: 'tenant-a/db', property: 'password' } }],
    });
    await waitForReady(TENANT, 'from-bao', 'True', undefined, 60_000);
    await waitForReady(TENANT, 'from-aws', 'True', undefined, 60_000);
    await waitForSecretData(TENANT, 'from-bao', { password: 'bao-v1' });
    await waitForSecretData(TENANT, 'from-aws', { password: 'aws-v1' });
  });

  it('a signed event sent to the webhook Service reaches the leader, and the ExternalSecret that reads the key refreshes from OpenBao within seconds', async () => {
    await writeVault('tenant-a/hook', { password: 'hook-v1' });
    // Refreshed hourly: only the event can bring the new value this soon.
    await createExternalSecret(TENANT, 'from-hook', {
      refreshInterval: '1h', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'password', remoteRef: { key: 'tenant-a/hook', property: 'password' } }],
    });
    await waitForSecretData(TENANT, 'from-hook', { password: 'hook-v1' });
    await writeVault('tenant-a/hook', { password: 'hook-v2' });
    const t0 = Date.now();
    const sent = await sendRefreshEvent({ id: randomUUID(), namespace: TENANT, store: 'vault', key: 'tenant-a/hook' });
    expect(sent, 'through the Service to the leader').toEqual({ status: 202, body: '{"result":"accepted"}' });
    await waitForSecretData(TENANT, 'from-hook', { password: 'hook-v2' }, 10_000);
    console.log(`webhook event through the Service to the updated Secret: ${Date.now() - t0} ms`);
    // Signed with another key: refused.
    expect((await sendRefreshEvent({ id: randomUUID(), namespace: TENANT, store: 'vault', key: 'tenant-a/hook' }, randomBytes(32))).status).toBe(401);
  });

  it('the memory limit sizes the heap inside the container (60% for old space)', async () => {
    for (const pod of operatorPods) {
      expect(pod.spec.containers[0]!.resources?.limits?.memory).toBe('256Mi');
      const starting = (await podLog(NS, pod.metadata.name)).find((l) => l.msg === 'starting')!;
      expect(starting.memoryLimitMiB, JSON.stringify(starting)).toBe(256);
      // heap_size_limit is old space (60% of 256 MiB = 153.6) plus the young generation.
      expect(starting.heapLimitMiB).toBeGreaterThanOrEqual(150);
      expect(starting.heapLimitMiB).toBeLessThanOrEqual(170);
      const { cgroup } = await containerProcess(pod);
      expect(cgroup).toMatch(new RegExp(`memory:/${nodeEnv().CGROUP_ROOT}/kubepods/burstable/pod${pod.metadata.uid}/`));
    }
  });

  it('runs as non-root on a read-only root filesystem, with no capabilities, no privilege escalation and seccomp RuntimeDefault', async () => {
    for (const pod of operatorPods) {
      const { status, mountinfo } = await containerProcess(pod);
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!.trim().split(/\s+/);
      expect(field('Uid')).toEqual(['65532', '65532', '65532', '65532']);
      expect(field('Gid')).toEqual(['65532', '65532', '65532', '65532']);
      for (const caps of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(caps), caps).toEqual(['0000000000000000']);
      expect(field('NoNewPrivs')).toEqual(['1']);
      expect(field('Seccomp')).toEqual(['2']); // filter mode: the runtime's default profile
      const rootMount = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/')!;
      expect(rootMount.split(' ')[5]!.split(',')).toContain('ro');
      // Every writable mount is one the kubelet makes for any Pod (the token, hosts, the termination log), none of the image.
      const writable = mountinfo.split('\n').filter(Boolean).map((l) => l.split(' ')).filter((f) => f[5]!.split(',').includes('rw')).map((f) => f[4]!);
      for (const m of writable) expect(m, `writable mount ${m}`).toMatch(/^\/(dev(\/.*)?|proc(\/.*)?|sys(\/.*)?|etc\/(hosts|hostname|resolv\.conf)|dev\/termination-log)$/);
      // A write to the image fails; the operator wrote nothing and logged no write error.
      const write = await kubectl(['exec', '-n', NS, pod.metadata.name, '--', '/nodejs/bin/node', '-e', 'require("fs").writeFileSync("/tmp/probe", "x")']);
      expect(write.code).not.toBe(0);
      expect(write.stderr).toContain('EROFS');
      expect(JSON.stringify(await podLog(NS, pod.metadata.name))).not.toMatch(/EROFS|EACCES/);
    }
  });

  it('the NetworkPolicy and the PodDisruptionBudget are accepted, and the budget counts both Pods', async () => {
    const np = await kube().get(Workloads.NetworkPolicy, NS, RELEASE);
    expect(np.metadata.name).toBe(RELEASE);
    const pdb = await waitFor('the PDB to count the Pods', async () => {
      const p = await kube().get<{ metadata: { name: string }; status?: { currentHealthy?: number; disruptionsAllowed?: number } }>(Workloads.PodDisruptionBudget, NS, RELEASE);
      return p.status?.currentHealthy === 2 ? p : false;
    }, 30_000, 250);
    expect(pdb.status?.disruptionsAllowed).toBe(1);
  });

  it("deleting the leader's Pod: another replica takes over within the lease, a change made meanwhile lands, and the Deployment brings back two replicas", async () => {
    const before = await lease(NS, LEASE);
    const leader = holderPod(before, operatorPods)!;
    const follower = operatorPods.find((p) => p !== leader)!;
    const watch = watchLeadership(NS, LEASE);
    const t0 = Date.now();
    const deleted = await kubectl(['delete', 'pod', '-n', NS, leader.metadata.name, '--wait=false']);
    expect(deleted.code).toBe(0);
    // Meanwhile: the vault value rotates and the ExternalSecret gains a key.
    await writeVault('tenant-a/app', { password: 'bao-v2', user: 'svc' });
    await kube().mergePatch(Resources.ExternalSecret, TENANT, 'from-bao', {
      spec: { data: [{ secretKey: 'password', remoteRef: { key: 'tenant-a/app', property: 'password' } }, { secretKey: 'user', remoteRef: { key: 'tenant-a/app', property: 'user' } }] },
    });
    // The leader releases the Lease as it stops, so whichever candidate asks first takes
    // it: the follower, or the Pod the ReplicaSet starts in its place.
    const after = await waitFor('another Pod to lead', async () => {
      const l = await lease(NS, LEASE);
      return l.holder && !l.holder.startsWith(`${leader.metadata.name}_`) ? l : false;
    }, LEASE_MS + 5_000, 100);
    const takeoverMs = Date.now() - t0;
    const by = after.holder!.startsWith(`${follower.metadata.name}_`) ? `the follower ${follower.metadata.name}` : `the new Pod ${after.holder!.split('_')[0]}`;
    console.log(`leader Pod deleted: ${by} took over after ${takeoverMs} ms (lease ${LEASE_MS} ms)`);
    expect(takeoverMs).toBeLessThan(LEASE_MS);
    expect(after.transitions).toBe((before.transitions ?? 0) + 1);
    await waitForSecretData(TENANT, 'from-bao', { password: 'bao-v2', user: 'svc' });
    operatorPods = await readyPods(NS, SELECTOR, 2);
    expect(operatorPods.map((p) => p.metadata.name)).toContain(follower.metadata.name);
    const { longestLeaderlessMs } = await watch.stop();
    expect(longestLeaderlessMs).toBeLessThan(LEASE_MS);
  });

  it('helm upgrade with changed values rolls both Pods with no moment without a leader longer than the lease', async () => {
    const old = new Set(operatorPods.map((p) => p.metadata.name));
    const watch = watchLeadership(NS, LEASE);
    const upgraded = await install('upgrade', ['--set', 'logLevel=debug', '--set', 'workers=8']);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    operatorPods = await readyPods(NS, SELECTOR, 2);
    const { longestLeaderlessMs, holders } = await watch.stop();
    console.log(`helm upgrade: leaders ${holders.join(' -> ')}; longest without a leader ${longestLeaderlessMs} ms`);
    for (const p of operatorPods) expect(old.has(p.metadata.name), `${p.metadata.name} is a new Pod`).toBe(false);
    expect(longestLeaderlessMs).toBeLessThan(LEASE_MS);
    const deployment = await kube().get<{ metadata: { name: string }; spec: { template: { spec: { containers: Array<{ args: string[] }> } } } }>(Workloads.Deployment, NS, RELEASE);
    expect(deployment.spec.template.spec.containers[0]!.args).toContain('--log-level=debug');
    // The new leader syncs: a rotation lands.
    await writeVault('tenant-a/app', { password: 'bao-v3', user: 'svc' });
    await waitForSecretData(TENANT, 'from-bao', { password: 'bao-v3', user: 'svc' });
    await sm().send(new PutSecretValueCommand({ SecretId: 'tenant-a/db', SecretString: JSON.stringify({ user: 'app', password: 'aws-v2' }) }));
  });

  it('sharded: three replicas share the buckets; the one holding the tenant, killed with SIGKILL, is taken over within the lease duration plus 5 s and a rotation made meanwhile lands; then back to one leader', async () => {
    const sharded = await install('upgrade', ['--set', 'leaderElection.sharding=true', '--set', 'replicaCount=3', '--set', 'refreshEvents.webhook.enabled=false']);
    expect(sharded.code, sharded.stderr).toBe(0);
    const pods3 = await readyPods(NS, SELECTOR, 3);
    const members = async () => {
      const leases = await kube().list<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: NS, labelSelector: `${SHARD_RING_LABEL}=${LEASE}` });
      return leases.items.filter((l) => l.spec?.holderIdentity).map((l) => ({ holder: l.spec!.holderIdentity!, holds: parseBuckets(l.metadata.annotations?.[SHARD_HOLDS_ANNOTATION]) }));
    };
    const shared = await waitFor('the three Pods share every bucket', async () => {
      const m = (await members()).filter((x) => pods3.some((p) => x.holder.startsWith(`${p.metadata.name}_`)) && x.holds.size > 0);
      return m.length === 3 && m.reduce((n, x) => n + x.holds.size, 0) === BUCKET_COUNT ? m : false;
    }, 60_000, 250);
    const tenantBucket = bucketOf(TENANT);
    const holder = shared.find((m) => m.holds.has(tenantBucket))!;
    const holderPodOf = pods3.find((p) => holder.holder.startsWith(`${p.metadata.name}_`))!;
    // The process itself, from the node: the kubelet restarts the container, as a new member.
    const { pid } = await containerProcess(holderPodOf);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await writeVault('tenant-a/app', { password: 'bao-sharded', user: 'svc' });
    await waitFor('another member holds the tenant', async () => (await members()).some((m) => m.holder !== holder.holder && m.holds.has(tenantBucket)), LEASE_MS + 10_000, 100);
    const takeoverMs = Date.now() - killedAt;
    await waitForSecretData(TENANT, 'from-bao', { password: 'bao-sharded', user: 'svc' });
    console.log(`sharded: the holder of ${TENANT} (${holder.holds.size} buckets) killed; taken over after ${takeoverMs} ms (lease ${LEASE_MS} ms)`);
    expect(takeoverMs).toBeLessThan(LEASE_MS + 5_000);
    const back = await install('upgrade', ['--set', 'workers=8']);
    expect(back.code, back.stderr).toBe(0);
    operatorPods = await readyPods(NS, SELECTOR, 2);
    await waitFor('one leader again', async () => ((await lease(NS, LEASE)).holder ? true : false), 30_000, 250);
  });

  it(`at ${SCALE.toLocaleString('en')} ExternalSecrets the leader stays under its 256 MiB limit, never OOM-killed (working set read from its cgroup)`, async () => {
    const ns = 'scale';
    // Not removed afterwards: this is the e2e run's last file (vitest.config.ts), and the node's
    // teardown drops them at once where deleting 20,000 objects would take minutes on 2 cores.
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const keys = 100;
    await createStore(ns, 'fake', fakeStoreSpec([...Array(keys).keys()].map((k) => ({ key: `k-${k}`, value: `value-${k}` }))));
    const t0 = Date.now();
    await pool([...Array(SCALE).keys()], 32, (i) => kube().create(Resources.ExternalSecret, {
      apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: ns },
      spec: { refreshInterval: '1h', secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'value', remoteRef: { key: `k-${i % keys}` } }] },
    }));
    const created = Date.now() - t0;
    // Every ExternalSecret synced: its Secret exists.
    await waitFor(`${SCALE} Secrets`, async () => {
      let count = 0;
      let cont: string | undefined;
      do {
        const page = await kube().list<{ metadata: { name: string } }>(Resources.Secret, { namespace: ns, metadataOnly: true, limit: 5000, continue: cont });
        count += page.items.length;
        cont = page.metadata?.continue;
      } while (cont);
      return count >= SCALE;
    }, 600_000, 2_000);
    const synced = Date.now() - t0;
    const leader = holderPod(await lease(NS, LEASE), operatorPods)!;
    const fresh = (await kube().get<Pod>(Workloads.Pod, NS, leader.metadata.name)).status.containerStatuses![0]!;
    expect(fresh.restartCount).toBe(0);
    expect(JSON.stringify(fresh.lastState)).not.toContain('OOMKilled');
    // cgroup v1: working set = usage - inactive file pages (what the kubelet and `kubectl top` report).
    const { cgroup } = await containerProcess(leader);
    const dir = `/sys/fs/cgroup/memory${/^\d+:memory:(.*)$/m.exec(cgroup)![1]}`;
    const read = (f: string) => readFileSync(`${dir}/${f}`, 'utf8').trim();
    const stat: Record<string, number> = Object.fromEntries(read('memory.stat').split('\n').map((l) => l.split(' ')).map(([k, v]) => [k!, Number(v)]));
    const usage = Number(read('memory.usage_in_bytes'));
    const workingSet = usage - (stat.total_inactive_file ?? 0);
    const peak = Number(read('memory.max_usage_in_bytes'));
    const limit = Number(read('memory.limit_in_bytes'));
    const summary = JSON.parse((await kubectl(['get', '--raw', `/api/v1/nodes/${nodeEnv().NODE_NAME}/proxy/stats/summary`])).stdout) as {
      pods: Array<{ podRef: { name: string }; containers: Array<{ memory: { workingSetBytes: number; rssBytes: number } }> }>;
    };
    const kubelet = summary.pods.find((p) => p.podRef.name === leader.metadata.name)!.containers[0]!.memory;
    console.log(`${SCALE} ExternalSecrets: created in ${(created / 1000).toFixed(1)} s, all synced after ${(synced / 1000).toFixed(1)} s; ` +
      `leader's cgroup: working set ${(workingSet / MiB).toFixed(1)} MiB, rss ${((stat.total_rss ?? 0) / MiB).toFixed(1)} MiB, peak usage ${(peak / MiB).toFixed(1)} MiB ` +
      `of a ${(limit / MiB).toFixed(0)} MiB limit; kubelet: working set ${(kubelet.workingSetBytes / MiB).toFixed(1)} MiB`);
    expect(limit).toBe(256 * MiB);
    expect(stat.total_rss).toBeLessThan(limit);
  }, 600_000);

  it('helm uninstall removes the operator and leaves the synced Secrets (the users’ data) in place', async () => {
    const removed = await helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '120s']);
    expect(removed.code, removed.stderr).toBe(0);
    await waitFor('the Pods to go', async () => (await kube().list<Pod>(Workloads.Pod, { namespace: NS, labelSelector: SELECTOR })).items.length === 0, 60_000, 500);
    expect(await kube().getOrUndefined(Workloads.Deployment, NS, RELEASE)).toBeUndefined();
    expect(await kube().getOrUndefined(Resources.ServiceAccount, NS, RELEASE)).toBeUndefined();
    const clusterRole = await kubectl(['get', 'clusterrole', RELEASE]);
    expect(clusterRole.code).not.toBe(0);
    for (const name of ['from-bao', 'from-aws']) expect((await getSecret(TENANT, name))?.data?.password, name).toBeDefined();
    // CRDs stay (Helm never deletes them), and so do the ExternalSecrets.
    expect(await kube().getOrUndefined(Resources.ExternalSecret, TENANT, 'from-bao')).toBeDefined();
  });
});
