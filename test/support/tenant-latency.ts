// What a healthy tenant sees, measured the same way by fair-work.test.ts and
// `make bench` (bench/isolation.ts): ms from creating an ExternalSecret until
// it is Ready, and from a forced refresh until it lands (status.refreshTime
// moves), one after another, polling the API server every 10 ms.
import { FORCE_SYNC_ANNOTATION } from '../../src/api/names.js';
import type { ExternalSecret, ExternalSecretSpec } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { API_VERSION, Resources } from '../../src/kube/types.js';

export interface TenantLatency {
  /** Sorted, ms. */
  ready: number[];
  /** Sorted, ms. */
  refresh: number[];
  /** Samples that hit the timeout (counted as the timeout). */
  timedOut: number;
}

/** The p-th percentile (nearest rank) of the values, in any order. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function describeLatency(m: TenantLatency): string {
  const f = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms`;
  const late = m.timedOut > 0 ? `, ${m.timedOut} not done within the timeout, counted as the timeout` : '';
  return `new ExternalSecret Ready ${f(m.ready)}; forced refresh ${f(m.refresh)} (${m.ready.length} each${late})`;
}

const isReady = (es: ExternalSecret) => es.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Polls `fn` every `pollMs` until it is true; false when `timeoutMs` passed first. */
export async function until(fn: () => Promise<boolean>, timeoutMs: number, pollMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

export async function createExternalSecret(kube: KubeClient, namespace: string, name: string, spec: ExternalSecretSpec): Promise<void> {
  await kube.create(Resources.ExternalSecret, { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name, namespace }, spec });
}

/** Creates n ExternalSecrets named `${prefix}-${i}`, 32 at a time. */
export async function createMany(kube: KubeClient, namespace: string, n: number, spec: (i: number) => ExternalSecretSpec, prefix = 'es'): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let i = next++; i < n; i = next++) await createExternalSecret(kube, namespace, `${prefix}-${i}`, spec(i));
  }));
}

/**
 * `samples` new ExternalSecrets named `${label}-${i}` until each is Ready,
 * then a forced refresh of each until it lands. One that takes longer than
 * `timeoutMs` counts as that long (and in `timedOut`), so an operator that
 * starves the tenant is measured too, not only failed.
 */
export async function measureTenant(kube: KubeClient, namespace: string, label: string, spec: ExternalSecretSpec, samples: number, timeoutMs = 60_000): Promise<TenantLatency> {
  const get = (name: string) => kube.get<ExternalSecret>(Resources.ExternalSecret, namespace, name);
  const result: TenantLatency = { ready: [], refresh: [], timedOut: 0 };
  const time = async (into: number[], start: () => Promise<unknown>, done: () => Promise<boolean>) => {
    const started = performance.now();
    await start();
    if (!(await until(done, timeoutMs))) result.timedOut++;
    into.push(Math.min(performance.now() - started, timeoutMs));
  };
  for (let i = 0; i < samples; i++) {
    const name = `${label}-${i}`;
    await time(result.ready, () => createExternalSecret(kube, namespace, name, spec), async () => isReady(await get(name)));
  }
  for (let i = 0; i < samples; i++) {
    const name = `${label}-${i}`;
    const before = (await get(name)).status?.refreshTime;
    const patch = { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: `${label}-${i}` } } };
    await time(result.refresh, () => kube.mergePatch(Resources.ExternalSecret, namespace, name, patch), async () => (await get(name)).status?.refreshTime !== before);
  }
  result.ready.sort((a, b) => a - b);
  result.refresh.sort((a, b) => a - b);
  return result;
}

/** How many ExternalSecrets of the namespace are Ready. */
export async function readyCount(kube: KubeClient, namespace: string): Promise<number> {
  const list = await kube.list<ExternalSecret>(Resources.ExternalSecret, { namespace });
  return list.items.filter(isReady).length;
}
