// Two real operator processes (the shipped bundle) sharing one Lease on the
// local control plane: exactly one reconciles, a killed leader is replaced
// within the lease duration with every pending change landing and nothing
// written twice, a SIGTERM'd leader hands over at once, and a leader cut off
// from the API server for longer than the renew deadline stops (exits).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Resources, type KubeObject } from '../../src/kube/types.js';
import { startFreezableProxy } from '../support/freezable-proxy.js';
import {
  createExternalSecret, createStore, fakeStoreSpec, freePort, getSecret, kube, kubeConfig, newNamespace, scrapeMetric, spawnOperator, stateDir,
  terminate, waitFor, waitForReady, type OperatorProcess,
} from './harness.js';

const LEASE = { duration: 6, renew: 4, retry: 0.5 };

interface Replica {
  proc: OperatorProcess;
  port: number;
}

async function replica(ns: string, lease: string, env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const proc = spawnOperator([
    '--watch-namespace', ns, '--namespace', ns, '--workers', '2', '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1',
    '--leader-elect', '--leader-elect-id', lease, '--leader-elect-lease-duration', `${LEASE.duration}s`,
    '--leader-elect-renew-deadline', `${LEASE.renew}s`, '--leader-elect-retry-period', `${LEASE.retry * 1000}ms`,
  ], env);
  await waitFor('metrics served', () => scrapeMetric(port, 'secretsync_leader').then(() => true), 20_000, 100);
  return { proc, port };
}

const isLeader = async (r: Replica) => (await scrapeMetric(r.port, 'secretsync_leader').catch(() => -1)) === 1;
const secretWrites = (r: Replica) => scrapeMetric(r.port, 'secretsync_secret_writes_total');
/** Writes to anything but the Lease (the follower's only write is campaigning). */
const writesBesidesLease = async (r: Replica) => {
  let n = 0;
  for (const verb of ['POST', 'PUT', 'PATCH', 'DELETE']) n += await scrapeMetric(r.port, 'secretsync_kube_requests_total', { verb }) - await scrapeMetric(r.port, 'secretsync_kube_requests_total', { verb, resource: 'leases' });
  return n;
};
const holder = async (ns: string, lease: string) => (await kube().get<KubeObject & { spec: { holderIdentity?: string } }>(Resources.Lease, ns, lease)).spec.holderIdentity ?? '';

async function fakeWorkload(ns: string, n: number): Promise<void> {
  await createStore(ns, 'fake', fakeStoreSpec(Array.from({ length: n + 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))));
  for (let i = 0; i < n; i++) await createExternalSecret(ns, `es${i}`, { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `k${i}` } }] });
}

describe('leader election between two operator processes', () => {
  it('one leader writes; a killed leader is replaced within the lease duration, pending changes land, nothing is written twice', async () => {
    const ns = await newNamespace();
    const a = await replica(ns, 'lease-kill');
    await waitFor('a leads', () => isLeader(a), 15_000, 100);
    const b = await replica(ns, 'lease-kill');
    await fakeWorkload(ns, 5);
    for (let i = 0; i < 5; i++) await waitForReady(ns, `es${i}`);
    expect(await isLeader(b)).toBe(false);
    expect(await secretWrites(a)).toBe(5);
    expect(await secretWrites(b)).toBe(0);
    expect(await writesBesidesLease(b)).toBe(0);
    const versions = await Promise.all([0, 1, 2, 3, 4].map(async (i) => (await getSecret(ns, `es${i}`))!.metadata.resourceVersion));

    a.proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Changes made while nobody leads: a new ExternalSecret, and a changed one.
    await createExternalSecret(ns, 'es5', { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: 'k5' } }] });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es0', { spec: { data: [{ secretKey: 'v', remoteRef: { key: 'k6' } }] } });
    await waitFor('b leads', () => isLeader(b), 20_000, 100);
    expect(Date.now() - killedAt).toBeLessThan((LEASE.duration + 3) * 1000);
    await waitForReady(ns, 'es5');
    await waitFor('es0 follows its change', async () => Buffer.from((await getSecret(ns, 'es0'))!.data!.v!, 'base64').toString() === 'v6');
    // The takeover reconciled everything from its warm cache, and rewrote only what changed.
    expect(await secretWrites(b)).toBe(2);
    const after = await Promise.all([1, 2, 3, 4].map(async (i) => (await getSecret(ns, `es${i}`))!.metadata.resourceVersion));
    expect(after).toEqual(versions.slice(1));
    expect((await terminate(b.proc)).code).toBe(0);
  }, 90_000);

  it('a leader stopped with SIGTERM releases the Lease, and the follower takes over at once', async () => {
    const ns = await newNamespace();
    const a = await replica(ns, 'lease-term');
    await waitFor('a leads', () => isLeader(a), 15_000, 100);
    const b = await replica(ns, 'lease-term');
    await fakeWorkload(ns, 1);
    await waitForReady(ns, 'es0');
    const leaderBefore = await holder(ns, 'lease-term');
    const stopped = await terminate(a.proc);
    expect(stopped.code).toBe(0);
    expect(a.proc.output.join('\n')).toContain('released the leader Lease');
    const released = Date.now();
    await waitFor('b leads', () => isLeader(b), 10_000, 50);
    // Well before the old leader's lease would have run out.
    expect(Date.now() - released).toBeLessThan((LEASE.duration * 1000) / 2);
    expect(await holder(ns, 'lease-term')).not.toBe(leaderBefore);
    await createExternalSecret(ns, 'late', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'k1' } }] });
    await waitForReady(ns, 'late');
    expect((await terminate(b.proc)).code).toBe(0);
  }, 60_000);

  it('a leader cut off from the API server for longer than the renew deadline stops reconciling and exits', async () => {
    const ns = await newNamespace();
    const cluster = new URL(kubeConfig().getCurrentCluster()!.server);
    const proxy = await startFreezableProxy(cluster.hostname, Number(cluster.port));
    const kubeconfig = join(stateDir(), `kubeconfig-proxy-${ns}`);
    writeFileSync(kubeconfig, readFileSync(join(stateDir(), 'kubeconfig'), 'utf8').replace(cluster.origin, `https://127.0.0.1:${proxy.port}`));
    try {
      const a = await replica(ns, 'lease-cut', { KUBECONFIG: kubeconfig });
      await waitFor('a leads', () => isLeader(a), 15_000, 100);
      const b = await replica(ns, 'lease-cut');
      await fakeWorkload(ns, 1);
      await waitForReady(ns, 'es0');
      proxy.freeze('all');
      const frozenAt = Date.now();
      const { code, at } = await a.proc.exited;
      expect(code).toBe(1);
      // Not before the renew deadline, and well before the lease would let another take over.
      expect(at - frozenAt).toBeGreaterThanOrEqual(LEASE.renew * 1000 - 1000);
      expect(a.proc.output.join('\n')).toContain('lost the leader Lease');
      await waitFor('b leads', () => isLeader(b), 20_000, 100);
      await createExternalSecret(ns, 'after-cut', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'k2' } }] });
      await waitForReady(ns, 'after-cut');
      expect((await terminate(b.proc)).code).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
