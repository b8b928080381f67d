// The process lifecycle of the shipped bundle: SIGTERM aborts work in flight
// (here a store check against a provider that never answers) and exits 0
// well before the provider deadline; a second SIGTERM does not wait for a
// drain that is stuck (here handing back the Lease to a silent API server).
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFreezableProxy } from '../support/freezable-proxy.js';
import { Resources } from '../../src/kube/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, fakeStoreSpec, getSecret, kube, kubeConfig, newNamespace, spawnOperator, startOperator, stateDir, terminate,
  waitFor, waitForReady,
} from './harness.js';

/** A TCP server that accepts connections and never answers. */
async function silentServer(sockets: Socket[]): Promise<number> {
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** A store whose provider accepts the connection and never answers; `sockets` fills as calls arrive. */
async function hangingStore(sockets: Socket[]): Promise<string> {
  const ns = await newNamespace();
  const port = await silentServer(sockets);
  await createCredentialSecret(ns, 'token', { token: 'x' });
  await createStore(ns, 'hangs', { provider: { vault: { server: `http://127.0.0.1:${port}`, auth: { tokenSecretRef: { name: 'token', key: 'token' } } } } });
  return ns;
}

describe('process lifecycle', () => {
  it('SIGTERM aborts a provider call in flight and exits 0 at once, not at the provider deadline', async () => {
    const sockets: Socket[] = [];
    const ns = await hangingStore(sockets);
    const op = spawnOperator(['--watch-namespace', ns, '--provider-timeout', '60s']);
    await waitFor('the store check in flight', () => sockets.length > 0, 20_000, 50);
    const { code, ms } = await terminate(op);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
    expect(op.output.join('\n')).toContain('operator stopped');
  });

  it('a second SIGTERM exits at once while the first waits on an API server that stopped answering', async () => {
    const ns = await newNamespace();
    const cluster = new URL(kubeConfig().getCurrentCluster()!.server);
    const proxy = await startFreezableProxy(cluster.hostname, Number(cluster.port));
    onTestFinished(() => proxy.close());
    const kubeconfig = join(stateDir(), `kubeconfig-lifecycle-${ns}`);
    writeFileSync(kubeconfig, readFileSync(join(stateDir(), 'kubeconfig'), 'utf8').replace(cluster.origin, `https://127.0.0.1:${proxy.port}`));
    const op = spawnOperator(['--watch-namespace', ns, '--namespace', ns, '--leader-elect', '--leader-elect-retry-period', '5s', '--leader-elect-renew-deadline', '20s', '--leader-elect-lease-duration', '30s'], { KUBECONFIG: kubeconfig });
    await waitFor('leading', () => op.output.some((l) => l.includes('became the leader')), 20_000, 50);
    // The first SIGTERM hands the Lease back, which now hangs; the second does not wait for it.
    proxy.freeze('all');
    op.child.kill('SIGTERM');
    await waitFor('draining', () => op.output.some((l) => l.includes('shutting down')), 5_000, 20);
    const second = Date.now();
    op.child.kill('SIGTERM');
    const { code, at } = await op.exited;
    expect(code).toBe(1);
    expect(at - second).toBeLessThan(1_000);
    expect(op.output.join('\n')).toContain('second signal: exiting now');
  });
});

describe('a start with work waiting', () => {
  it('syncs an ExternalSecret changed while the operator was down before the ones already in sync', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k0', value: 'zero' }, { key: 'k1', value: 'one' }]));
    const N = 40;
    for (let i = 0; i < N; i++) await createExternalSecret(ns, `es${i}`, { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: 'k0' } }] });
    const first = await startOperator({ watchNamespace: ns, workers: 1 });
    for (let i = 0; i < N; i++) await waitForReady(ns, `es${i}`);
    await first.stop();
    // Changed while nobody works: the last one listed, so without lanes it would come last.
    const changed = `es${N - 1}`;
    await kube().mergePatch(Resources.ExternalSecret, ns, changed, { spec: { data: [{ secretKey: 'v', remoteRef: { key: 'k1' } }] } });
    const order: string[] = [];
    const second = await startOperator({ watchNamespace: ns, workers: 1, reconcileJournal: { started: (controller, key) => void (controller === 'externalsecret' && order.push(key)), ended: () => undefined } });
    onTestFinished(() => second.stop());
    await waitFor('the change lands', async () => decoded(await getSecret(ns, changed)).v === 'one');
    expect(order[0]).toBe(`${ns}/${changed}`);
    await waitFor('the ones in sync are looked at too', () => order.length >= N);
  });
});
