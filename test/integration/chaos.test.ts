// Chaos beyond one restart: the API server restarted twice in a row during a
// burst of creates, and the operator bundle killed with SIGKILL five times
// while it syncs 1,000 ExternalSecrets. A watcher records every
// version of every Secret the whole time: none may ever be partial or
// wrong, and none may be written twice (the keyed hash and the status make a
// restarted operator skip what is already right).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { findReady } from '../../src/kube/status.js';
import { Resources, type Secret } from '../../src/kube/types.js';
import { createLogger } from '../../src/log.js';
import { Informer } from '../../src/runtime/informer.js';
import { pool } from '../../bench/baselines.js';
import { createExternalSecret, createStore, fakeStoreSpec, kube, newNamespace, removeNamespace, spawnOperator, stateDir, terminate, waitFor } from './harness.js';

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

describe('chaos', () => {
  it('the API server restarted twice in a row during a burst of 500 creates: everything converges with the right data', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec(Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: JSON.stringify(valueOf(k)) }))));
    const op = spawnOperator(['--watch-namespace', ns, '--workers', '16']);
    const burst = pool([...Array(500).keys()], 16, (i) => createThroughOutages(() => createExternalSecret(ns, `b-${i}`, { secretStoreRef: { name: 'fake' }, dataFrom: [{ extract: { key: `k${i % KEYS}` } }] })));
    for (let restart = 0; restart < 2; restart++) {
      execFileSync('bash', [join(root, 'scripts/control-plane.sh'), 'restart-apiserver'], { env: { ...process.env, SECRETSYNC_STATE: stateDir(), CP_PORT_BASE: process.env.CP_PORT_BASE ?? '26440' }, stdio: 'ignore' });
    }
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
    // Every version of every Secret, as the API server hands them out.
    const versions = new Map<string, Array<Record<string, string>>>();
    const watcher = new Informer<Secret>(kube(), Resources.Secret, { namespace: ns, log: createLogger('warn') });
    const record = (s: Secret) => {
      const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      versions.set(s.metadata.name, [...(versions.get(s.metadata.name) ?? []), data]);
    };
    watcher.addHandlers({ onAdd: record, onUpdate: (_, s) => record(s) });
    await watcher.start();
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
      await watcher.stop();
      await esWatcher.stop();
      await removeNamespace(ns);
    }
  }, 400_000);
});
