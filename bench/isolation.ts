// `make bench`'s isolation scenario: what a healthy tenant sees (a new
// ExternalSecret until Ready, a forced refresh until it lands; the
// measurement fair-work.test.ts makes, test/support/tenant-latency.ts) with
// nobody else, then beside a tenant whose OpenBao reads never answer (100
// keys, `hung` ExternalSecrets due), then beside one whose reads each take 5 s.
// Both tenants read the same OpenBao; the misbehaving one through a proxy that
// stalls its reads (test/support/stalling-http-proxy.ts). The operator runs as
// the Deployment runs it, with its default flags but --workers, watching the
// whole cluster (the other scenarios' namespaces are gone by then).
import type { ExternalSecretSpec } from '../src/api/types.js';
import type { KubeClient } from '../src/kube/client.js';
import { API_VERSION, Resources } from '../src/kube/types.js';
import { startStallingProxy } from '../test/support/stalling-http-proxy.js';
import { createMany, measureTenant, percentile, readyCount, until, type TenantLatency } from '../test/support/tenant-latency.js';
import { startOperator } from './operator-process.js';

export interface IsolationOptions {
  kube: KubeClient;
  kubeconfig: string;
  vault: { addr: string; token: string };
  workers: number;
  /** The hung tenant's ExternalSecrets (reading 100 keys). */
  hung: number;
  /** The slow tenant's ExternalSecrets, one key each. */
  slow: number;
  samples: number;
  /** A sample taking longer counts as this long. */
  sampleTimeoutMs: number;
  stamp: string;
  namespace: (name: string) => Promise<string>;
  removeNamespace: (name: string) => Promise<void>;
  say: (text: string) => void;
}

interface Latency {
  readyP50Ms: number;
  readyP99Ms: number;
  refreshP50Ms: number;
  refreshP99Ms: number;
  /** Samples that took longer than the timeout (counted as the timeout). */
  timedOut: number;
}

export interface IsolationResult {
  samples: number;
  alone: Latency;
  besideHung: Latency & { hungExternalSecrets: number; hungKeys: number };
  besideSlow: Latency & { slowExternalSecrets: number; slowTenantReadyS: number };
}

const latency = (m: TenantLatency): Latency => ({
  readyP50Ms: Math.round(percentile(m.ready, 50)),
  readyP99Ms: Math.round(percentile(m.ready, 99)),
  refreshP50Ms: Math.round(percentile(m.refresh, 50)),
  refreshP99Ms: Math.round(percentile(m.refresh, 99)),
  timedOut: m.timedOut,
});

/** Waits for `fn`, polling every 200 ms; throws naming `what` after timeoutMs. */
async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  if (!(await until(fn, timeoutMs, 200))) throw new Error(`timed out: ${what}`);
}

export async function isolation(o: IsolationOptions): Promise<IsolationResult> {
  const { kube, vault } = o;
  const write = async (key: string, value: string) => {
    const res = await fetch(`${vault.addr}/v1/secret/data/${key}`, { method: 'POST', headers: { 'X-Vault-Token': vault.token }, body: JSON.stringify({ data: { value } }) });
    if (!res.ok) throw new Error(`writing to OpenBao failed: HTTP ${res.status}`);
  };
  const prefix = `isolation-${o.stamp}`;
  for (let i = 0; i < Math.max(100, o.slow); i++) await write(`${prefix}-a-${i}`, `a-${i}`);
  await write(`${prefix}-b`, 'b');
  const proxy = await startStallingProxy(vault.addr, (req) => req.method === 'GET' && (req.url ?? '').startsWith(`/v1/secret/data/${prefix}-a-`));
  const store = async (ns: string, server: string) => {
    await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: ns }, stringData: { token: vault.token } });
    await kube.create(Resources.SecretStore, { apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name: 'vault', namespace: ns }, spec: { provider: { vault: { server, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } } } as never);
  };
  const spec = (key: string): ExternalSecretSpec => ({ secretStoreRef: { name: 'vault' }, refreshInterval: '1h', data: [{ secretKey: 'value', remoteRef: { key, property: 'value' } }] });
  const healthy = await o.namespace(`bench-isolation-b-${o.stamp}`);
  const hung = await o.namespace(`bench-isolation-hung-${o.stamp}`);
  const slow = await o.namespace(`bench-isolation-slow-${o.stamp}`);
  const op = await startOperator({ kubeconfig: o.kubeconfig, name: `${o.stamp}-isolation`, args: ['--workers', String(o.workers)] });
  try {
    await store(healthy, vault.addr);
    await store(hung, proxy.url);
    await store(slow, proxy.url);
    const measure = (label: string) => measureTenant(kube, healthy, label, spec(`${prefix}-b`), o.samples, o.sampleTimeoutMs);

    o.say(`[isolation] tenant B alone: ${o.samples} new ExternalSecrets, then ${o.samples} forced refreshes`);
    const alone = latency(await measure('alone'));

    o.say(`[isolation] tenant A: ${o.hung} ExternalSecrets reading 100 keys whose reads never answer; tenant B again`);
    proxy.set({ mode: 'hang' });
    await createMany(kube, hung, o.hung, (i) => spec(`${prefix}-a-${i % 100}`));
    // Measured once 16 of A's reads hang (as many as the workers), whatever the operator does about them.
    await waitFor('16 of the hung tenant\'s reads waiting', () => Promise.resolve(proxy.picked >= 16), 120_000);
    const besideHung = { ...latency(await measure('beside-hung')), hungExternalSecrets: o.hung, hungKeys: 100 };
    proxy.set({ mode: 'pass' });
    await o.removeNamespace(hung);

    o.say(`[isolation] tenant A: ${o.slow} ExternalSecrets whose reads take 5 s each; tenant B again`);
    proxy.set({ mode: 'slow', delayMs: 5000 });
    const started = performance.now();
    await createMany(kube, slow, o.slow, (i) => spec(`${prefix}-a-${i}`));
    const beside = latency(await measure('beside-slow'));
    await waitFor('the slow tenant Ready', async () => (await readyCount(kube, slow)) === o.slow, 300_000);
    const besideSlow = { ...beside, slowExternalSecrets: o.slow, slowTenantReadyS: Number(((performance.now() - started) / 1000).toFixed(1)) };
    return { samples: o.samples, alone, besideHung, besideSlow };
  } finally {
    await op.stop();
    await proxy.close();
    for (const ns of [healthy, hung, slow]) await o.removeNamespace(ns);
  }
}

export function isolationTable(r: IsolationResult): string {
  const late = (l: Latency) => (l.timedOut > 0 ? `   ${l.timedOut} samples timed out (counted as the timeout)` : '');
  const row = (what: string, l: Latency) => `  ${what.padEnd(58)} ${`${l.readyP50Ms} / ${l.readyP99Ms} ms`.padStart(16)} ${`${l.refreshP50Ms} / ${l.refreshP99Ms} ms`.padStart(16)}${late(l)}`;
  return [
    `isolation: healthy tenant B (${r.samples} samples each, p50 / p99; target p99 < 1000 ms)`,
    `  ${'tenant A'.padEnd(58)} ${'new ES Ready'.padStart(16)} ${'forced refresh'.padStart(16)}`,
    row('none (baseline)', r.alone),
    row(`${r.besideHung.hungKeys} reads hung, ${r.besideHung.hungExternalSecrets} ExternalSecrets due`, r.besideHung),
    row(`5 s a read, ${r.besideSlow.slowExternalSecrets} ExternalSecrets (all Ready in ${r.besideSlow.slowTenantReadyS} s)`, r.besideSlow),
  ].join('\n');
}
