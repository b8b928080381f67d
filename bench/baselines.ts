// The two baselines every scenario is measured against, in the same run:
// - the physical ceiling: the cheapest client there is, one keep-alive POST
//   of each Secret (no apply, no reads);
// - minimum work: what any operator must do per ExternalSecret, done by a
//   plain client: the ExternalSecret is created (as the bench does for the
//   operator), its Secret is created, and its status is patched.
import type { KubeClient } from '../src/kube/client.js';
import { API_VERSION, Resources, type KubeObject, type Secret } from '../src/kube/types.js';

export async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export function benchSecret(ns: string, name: string, password: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels: { 'secretsync.dev/managed': 'true' } },
    type: 'Opaque',
    data: { password: Buffer.from(password).toString('base64') },
  };
}

/** ms for N POSTs of a Secret at the given concurrency. */
export async function physicalCeiling(kube: KubeClient, ns: string, count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  await pool([...Array(count).keys()], concurrency, (i) => kube.create(Resources.Secret, benchSecret(ns, `s-${i}`, `pw-${i}`)));
  return performance.now() - started;
}

/** ms for N times: create an ExternalSecret, create its Secret, patch its status Ready. */
export async function minimumWork(kube: KubeClient, ns: string, count: number, concurrency: number, spec: (i: number) => object): Promise<number> {
  const started = performance.now();
  await pool([...Array(count).keys()], concurrency, async (i) => {
    const body: KubeObject & { spec: object } = { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: ns }, spec: spec(i) };
    const es = await kube.create<KubeObject>(Resources.ExternalSecret, body);
    await kube.create(Resources.Secret, benchSecret(ns, `s-${i}`, `pw-${i}`));
    const now = new Date().toISOString();
    await kube.mergePatch(Resources.ExternalSecret, ns, es.metadata.name, {
      status: { observedGeneration: 1, refreshTime: now, conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'Secret is in sync with the provider', lastTransitionTime: now }] },
    }, 'status');
  });
  return performance.now() - started;
}
