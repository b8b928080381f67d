// Chaos beyond one restart: the API server restarted twice in a row during a
// burst of creates, etcd stopped and restarted while ExternalSecrets are
// created and their values rotate, a provider flapping between resets and
// answers, and the operator bundle killed with SIGKILL five times while it
// syncs 1,000 ExternalSecrets. A watcher records every version of every
// Secret the whole time: none may ever be partial or wrong, and none may be
// written twice for one change (the keyed hash and the status make a
// restarted operator skip what is already right).
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it, onTestFailed } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { findReady } from '../../src/kube/status.js';
import { Resources, type Secret } from '../../src/kube/types.js';
import { createLogger } from '../../src/runtime/log.js';
import { Informer } from '../../src/runtime/informer.js';
import { pool } from '../../bench/baselines.js';
import { startFlappingProxy } from '../support/flapping-proxy.js';
import {
  createCredentialSecret, createExternalSecret, createStore, fakeStoreSpec, kube, newNamespace, providerEnv, removeNamespace, spawnOperator, stateDir, terminate, waitFor,
} from './harness.js';

const root = join(import.meta.dirname, '../..');
const COUNT = 1000;
const KEYS = 10;
const valueOf = (k: number) => ({ user: `user-${k}`, password: `pw-${k}`, host: `db-${k}.internal` });

/** Retries a create through API server restarts (connection refused, 503s) until it lands. */
async function createThroughOutages(create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await create();
      return;
    } catch (err) {
      if ((err as { status?: number }).status === 409) return; // landed before the outage cut the answer
      if (attempt > 200) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Every version of every Secret in the namespace, as the API server hands them out (one entry per resourceVersion). */
async function recordSecretVersions(ns: string): Promise<{ versions: Map<string, Array<Record<string, string>>>; stop: () => Promise<void> }> {
  const versions = new Map<string, Array<Record<string, string>>>();
  const seen = new Set<string>();
  const watcher = new Informer<Secret>(kube(), Resources.Secret, { namespace: ns, log: createLogger('warn') });
  const record = (s: Secret) => {
    if (seen.has(`${s.metadata.name}@${s.metadata.resourceVersion}`)) return;
    seen.add(`${s.metadata.name}@${s.metadata.resourceVersion}`);
    const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    versions.set(s.metadata.name, [...(versions.get(s.metadata.name) ?? []), data]);
  };
  watcher.addHandlers({ onAdd: record, onUpdate: (_, s) => record(s) });
  await watcher.start();
  return { versions, stop: () => watcher.stop() };
}

const controlPlane = (command: string) =>
  execFileSync('bash', [join(root, 'scripts/control-plane.sh'), command], { env: { ...process.env, SECRETSYNC_STATE: stateDir(), CP_PORT_BASE: process.env.CP_PORT_BASE ?? '26440' }, stdio: 'ignore' });

/** A Vault KV value for key k at a version: three fields that must always travel together. */
const rotated = (k: number, v: number) => ({ user: `user-${k}`, password: `pw-${k}-v${v}`, host: `db-${k}-v${v}.internal` });

async function putVault(env: Record<string, string>, key: string, data: Record<string, string>): Promise<void> {
  const res = await fetch(`${env.VAULT_ADDR}/v1/secret/data/${key}`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data }) });
  if (res.status !== 200) throw new Error(`vault write ${key}: HTTP ${res.status}`);
}

/**
 * Every recorded version of `name` is one whole value of key k and versions
 * never go back. A version may repeat the one before it at most once: the
 * first update after our create turns the create's managedFields entry into
 * an Apply entry (target-secret.ts), which changes the resourceVersion and
 * nothing the watcher sees. Any other repeat is a Secret written twice.
 */
function expectWholeAndInOrder(seen: Array<Record<string, string>>, k: number, maxVersion: number, name: string): void {
  const order = seen.map((data) => {
    const v = Array.from({ length: maxVersion }, (_, i) => i + 1).find((n) => isDeepStrictEqual(data, rotated(k, n)));
    expect(v, `${name}: a version that is no whole value of key ${k}: ${JSON.stringify(Object.keys(data))}`).toBeDefined();
    return v!;
  });
  let repeats = 0;
  for (let i = 1; i < order.length; i++) {
    expect(order[i]!, `${name} went from v${order[i - 1]} back to v${order[i]}`).toBeGreaterThanOrEqual(order[i - 1]!);
    if (order[i] === order[i - 1]) repeats++;
  }
  expect(repeats, `${name} written ${repeats} times without a change: ${order.join(' ')}`).toBeLessThanOrEqual(1);
}

describe('chaos', () => {
  it('the API server restarted twice in a row during a burst of 500 creates: everything converges with the right data', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec(Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: JSON.stringify(valueOf(k)) }))));
    const op = spawnOperator(['--watch-namespace', ns, '--workers', '16']);
    const burst = pool([...Array(500).keys()], 16, (i) => createThroughOutages(() => createExternalSecret(ns, `b-${i}`, { secretStoreRef: { name: 'fake' }, dataFrom: [{ extract: { key: `k${i % KEYS}` } }] })));
    for (let restart = 0; restart < 2; restart++) controlPlane('restart-apiserver');
    await burst;
    const esWatcher = new Informer<ExternalSecret>(kube(), Resources.ExternalSecret, { namespace: ns, log: createLogger('warn') });
    await waitFor('API server answering', async () => (await kube().list(Resources.Namespace, { limit: 1 })).items.length > 0, 30_000, 200);
    await esWatcher.start();
    try {
      await waitFor('all 500 Ready', () => [...esWatcher.values()].filter((es) => findReady(es.status)?.status === 'True').length === 500, 120_000, 100);
      for (let i = 0; i < 500; i += 50) {
        const secret = await kube().get<Secret>(Resources.Secret, ns, `b-${i}`);
        expect(Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))).toEqual(valueOf(i % KEYS));
      }
      expect(op.child.exitCode).toBeNull();
    } finally {
      await esWatcher.stop();
      await terminate(op);
      await removeNamespace(ns);
    }
  }, 400_000);

  it(`SIGKILL five times during a ${COUNT}-ExternalSecret sync: every Secret converges, none is ever partial or written twice`, async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec(Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: JSON.stringify(valueOf(k)) }))));
    const { versions, stop } = await recordSecretVersions(ns);
    const esWatcher = new Informer<ExternalSecret>(kube(), Resources.ExternalSecret, { namespace: ns, log: createLogger('warn') });
    await esWatcher.start();
    try {
      await pool([...Array(COUNT).keys()], 16, (i) => createExternalSecret(ns, `es-${i}`, { secretStoreRef: { name: 'fake' }, refreshInterval: '1h', dataFrom: [{ extract: { key: `k${i % KEYS}` } }] }));
      const ready = () => [...esWatcher.values()].filter((es) => findReady(es.status)?.status === 'True').length;
      const kills: number[] = [];
      for (let round = 0; round < 5; round++) {
        const op = spawnOperator(['--watch-namespace', ns, '--workers', '16']);
        const before = ready();
        // Let it make some progress, then kill it mid-sync.
        await waitFor(`progress in round ${round}`, () => ready() > before || ready() === COUNT, 60_000, 20);
        await new Promise((r) => setTimeout(r, 150 * (round + 1)));
        op.child.kill('SIGKILL');
        await op.exited;
        kills.push(ready());
      }
      // The first kill really came mid-sync (the chaos had something to break).
      expect(kills[0]).toBeLessThan(COUNT);
      const last = spawnOperator(['--watch-namespace', ns, '--workers', '16']);
      await waitFor('every ExternalSecret Ready', () => ready() === COUNT, 120_000, 100);
      await waitFor('every Secret seen', () => versions.size === COUNT, 30_000, 100);
      expect((await terminate(last)).code).toBe(0);

      let rewritten = 0;
      for (let i = 0; i < COUNT; i++) {
        const seen = versions.get(`es-${i}`) ?? [];
        // Never partial, never wrong: every version the API server held is the whole, right value.
        for (const data of seen) expect(data, `es-${i}`).toEqual(valueOf(i % KEYS));
        if (seen.length > 1) rewritten++;
      }
      expect(rewritten).toBe(0);
      process.stdout.write(`chaos: ${COUNT} ExternalSecrets, Ready counts at each SIGKILL: ${kills.join(', ')}; Secrets written more than once: ${rewritten}\n`);
    } finally {
      await stop();
      await esWatcher.stop();
      await removeNamespace(ns);
    }
  }, 400_000);
  it('etcd stopped for 10 s and started again while ExternalSecrets are created and their values rotate: all converge to the new values, no Secret partial or written twice', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    const N = 200;
    for (let k = 0; k < KEYS; k++) await putVault(env, `${ns}/k${k}`, rotated(k, 1));
    await createCredentialSecret(ns, 'vault-token', { token: env.VAULT_TOKEN! });
    await createStore(ns, 'vault', { provider: { vault: { server: env.VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    const { versions, stop } = await recordSecretVersions(ns);
    const op = spawnOperator(['--watch-namespace', ns, '--workers', '8']);
    onTestFailed(() => console.log(op.output.slice(-20).join('\n')));
    try {
      let created = 0;
      const burst = pool([...Array(N).keys()], 4, async (i) => {
        await createThroughOutages(() => createExternalSecret(ns, `e-${i}`, { secretStoreRef: { name: 'vault' }, refreshInterval: '3s', dataFrom: [{ extract: { key: `${ns}/k${i % KEYS}` } }] }));
        created++;
      });
      await waitFor('a quarter created', () => created >= N / 4, 60_000, 20);
      controlPlane('stop-etcd');
      const stoppedAt = Date.now();
      // The values rotate while the cluster cannot store anything.
      for (let k = 0; k < KEYS; k++) await putVault(env, `${ns}/k${k}`, rotated(k, 2));
      // The outage itself: the length of it is the point of this test.
      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
      const createdDuringOutage = created;
      controlPlane('start-etcd');
      await burst;
      await waitFor('API server answering', async () => (await kube().list(Resources.Namespace, { limit: 1 })).items.length > 0, 60_000, 200);
      const current = () => [...Array(N).keys()].filter((i) => isDeepStrictEqual(versions.get(`e-${i}`)?.at(-1), rotated(i % KEYS, 2))).length;
      await waitFor('every Secret holding the rotated value', () => current() === N, 120_000, 200);
      const ready = async () => (await kube().list<ExternalSecret>(Resources.ExternalSecret, { namespace: ns })).items.filter((es) => findReady(es.status)?.status === 'True').length;
      await waitFor('every ExternalSecret Ready', async () => (await ready()) === N, 60_000, 500);
      expect(op.child.exitCode).toBeNull();
      for (let i = 0; i < N; i++) expectWholeAndInOrder(versions.get(`e-${i}`)!, i % KEYS, 2, `e-${i}`);
      process.stdout.write(`chaos: etcd down 10 s with ${createdDuringOutage}/${N} created; ${N} converged to the rotated value, none partial or written twice\n`);
    } finally {
      controlPlane('start-etcd');
      await stop();
      await terminate(op);
      await removeNamespace(ns);
    }
  }, 300_000);

  it('a provider flapping between resets and answers while values rotate: every Secret converges to the last value, never partial, never stale, one write per value', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    const N = 40;
    for (let k = 0; k < KEYS; k++) await putVault(env, `${ns}/k${k}`, rotated(k, 1));
    const vault = new URL(env.VAULT_ADDR!);
    const proxy = await startFlappingProxy(vault.hostname, Number(vault.port));
    await createCredentialSecret(ns, 'vault-token', { token: env.VAULT_TOKEN! });
    await createStore(ns, 'vault', { provider: { vault: { server: `http://127.0.0.1:${proxy.port}`, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    const { versions, stop } = await recordSecretVersions(ns);
    const op = spawnOperator(['--watch-namespace', ns, '--workers', '8']);
    onTestFailed(() => console.log(op.output.slice(-20).join('\n')));
    try {
      await pool([...Array(N).keys()], 8, (i) => createExternalSecret(ns, `f-${i}`, { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', dataFrom: [{ extract: { key: `${ns}/k${i % KEYS}` } }] }));
      await waitFor('first sync', () => [...versions.keys()].filter((n) => n.startsWith('f-')).length === N, 60_000, 100);
      // Down and up every 700 ms while the values rotate three times.
      proxy.flap(700);
      for (let v = 2; v <= 4; v++) {
        await new Promise((r) => setTimeout(r, 2_500));
        for (let k = 0; k < KEYS; k++) await putVault(env, `${ns}/k${k}`, rotated(k, v));
      }
      await new Promise((r) => setTimeout(r, 2_500));
      proxy.stop();
      const failures = (await kube().list<{ reason: string; type: string }>(Resources.Event, { namespace: ns })).items.filter((e) => e.type === 'Warning').length;
      const current = () => [...Array(N).keys()].filter((i) => isDeepStrictEqual(versions.get(`f-${i}`)?.at(-1), rotated(i % KEYS, 4))).length;
      await waitFor('every Secret holding the last value', () => current() === N, 120_000, 200);
      expect(op.child.exitCode).toBeNull();
      // The flapping was felt: connections were reset and syncs failed.
      expect(proxy.resets).toBeGreaterThan(0);
      expect(failures).toBeGreaterThan(0);
      for (let i = 0; i < N; i++) expectWholeAndInOrder(versions.get(`f-${i}`)!, i % KEYS, 4, `f-${i}`);
      process.stdout.write(`chaos: provider flapping every 700 ms, ${proxy.resets} connections reset, ${failures} Warning Events; ${N} Secrets converged to v4, none partial or stale\n`);
    } finally {
      await stop();
      await terminate(op);
      await proxy.close();
      await removeNamespace(ns);
    }
  }, 300_000);
});
