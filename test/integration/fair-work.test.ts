// One tenant's broken provider does not stall the others. Tenant A's OpenBao
// (behind a proxy that stalls its reads, test/support/stalling-http-proxy.ts)
// answers the store's login check but never answers a read, or answers each
// after 5 s; tenant B reads from the same OpenBao directly. With the
// operator's default workers and --slow-call-after, B's new ExternalSecret is
// Ready, and B's forced refresh lands, within 1 s at p99, as without A.
// The figures go to stdout (`fair work: ...`) for the closing note.
import NodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason } from '../../src/api/reasons.js';
import type { ExternalSecretSpec } from '../../src/api/types.js';
import { Resources } from '../../src/kube/types.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { startStallingProxy, type StallingProxy } from '../support/stalling-http-proxy.js';
import { createMany, describeLatency, measureTenant, percentile, readyCount, type TenantLatency } from '../support/tenant-latency.js';
import {
  createCredentialSecret, createStore, kube, newNamespace, providerEnv, ready, removeNamespace, startOperator, waitFor, waitForReady, waitForStoreReady,
  type TestOperator,
} from './harness.js';

const env = () => providerEnv();
const vault = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const run = Date.now().toString(36);
/** Tenant A's keys: the only reads the proxy stalls. */
const A_PREFIX = `fair-${run}-a`;
const SAMPLES = 20;

let proxy: StallingProxy;
let op: TestOperator;
const metrics = new Metrics();
let tenantB: string;

async function vaultStore(ns: string, name: string, server: string): Promise<void> {
  await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
  await createStore(ns, name, { provider: { vault: { server, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
  await waitForStoreReady(ns, name);
}

const readSpec = (store: string, key: string): ExternalSecretSpec => ({
  secretStoreRef: { name: store },
  refreshInterval: '1h',
  data: [{ secretKey: 'value', remoteRef: { key, property: 'value' } }],
});

function report(what: string, m: TenantLatency): void {
  process.stdout.write(`fair work: ${what}: ${describeLatency(m)}\n`);
}

const measureTenantB = (label: string) => measureTenant(kube(), tenantB, label, readSpec('healthy', `fair-${run}-b`), SAMPLES);

async function heldBack(store: string): Promise<number> {
  const { values } = await metrics.storeHeldBack.get();
  return values.find((v) => v.labels.store === store)?.value ?? 0;
}

describe('fair work between tenants', () => {
  beforeAll(async () => {
    for (let i = 0; i < 100; i++) await vault().write(`secret/data/${A_PREFIX}-${i}`, { data: { value: `a-${i}` } });
    await vault().write(`secret/data/fair-${run}-b`, { data: { value: 'b' } });
    proxy = await startStallingProxy(env().VAULT_ADDR!, (req) => req.method === 'GET' && (req.url ?? '').startsWith(`/v1/secret/data/${A_PREFIX}`));
    // The operator's defaults: 16 workers, --slow-call-after 500ms, --provider-timeout 30s.
    op = await startOperator({ workers: 16, metrics });
    tenantB = `fair-b-${run}`;
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: tenantB } });
    await vaultStore(tenantB, 'healthy', env().VAULT_ADDR!);
  });
  afterAll(async () => {
    await op?.stop();
    await proxy?.close();
    await kube().delete(Resources.Namespace, undefined, tenantB).catch(() => undefined);
  });

  it('a tenant whose 100 reads hang, with 1,000 ExternalSecrets due, does not slow another tenant\'s new ExternalSecret or forced refresh', async () => {
    const alone = await measureTenantB('alone');
    report('tenant B alone', alone);

    const tenantA = await newNamespace();
    await vaultStore(tenantA, 'hung', proxy.url);
    proxy.set({ mode: 'hang' });
    await createMany(kube(), tenantA, 1000, (i) => readSpec('hung', `${A_PREFIX}-${i % 100}`));
    const store = `SecretStore/${tenantA}/hung`;
    await waitFor('tenant A\'s store held back', async () => (await heldBack(store)) === 1, 30_000);

    const beside = await measureTenantB('beside-hung');
    report('tenant B beside a tenant with 100 hung reads and 1,000 due', beside);
    expect(percentile(beside.ready, 99)).toBeLessThan(1000);
    expect(percentile(beside.refresh, 99)).toBeLessThan(1000);
    // Tenant A is told why its ExternalSecrets wait, and the metric names the store.
    const waiting = await waitForReady(tenantA, 'es-999', 'False', Reason.StoreHeldBack, 30_000);
    expect(ready(waiting)?.message).toMatch(new RegExp(`^store ${store} is held back: 16 of its ExternalSecrets have waited on its calls for over 500 ms`));
    expect((await metrics.storeTurnedAway.get()).values.find((v) => v.labels.store === store)?.value).toBeGreaterThan(0);
    // A few of A's reads reached the provider, not one per ExternalSecret.
    expect(proxy.picked).toBeLessThanOrEqual(100);

    // The provider answers again: the store is no longer held back and all 1,000 sync.
    proxy.set({ mode: 'pass' });
    await waitFor('tenant A\'s 1,000 ExternalSecrets Ready', async () => (await readyCount(kube(), tenantA)) === 1000, 120_000, 500);
    expect(await heldBack(store)).toBe(0);
    await removeNamespace(tenantA);
  }, 400_000);

  it('a tenant whose provider takes 5 s a call gets its own work done at that pace, and another tenant does not slow down', async () => {
    const tenantA = await newNamespace();
    await vaultStore(tenantA, 'slow', proxy.url);
    proxy.set({ mode: 'slow', delayMs: 5000 });
    const started = performance.now();
    await createMany(kube(), tenantA, 48, (i) => readSpec('slow', `${A_PREFIX}-${i}`));
    const beside = await measureTenantB('beside-slow');
    report('tenant B beside a tenant whose provider takes 5 s a call', beside);
    expect(percentile(beside.ready, 99)).toBeLessThan(1000);
    expect(percentile(beside.refresh, 99)).toBeLessThan(1000);
    await waitFor('tenant A\'s 48 ExternalSecrets Ready', async () => (await readyCount(kube(), tenantA)) === 48, 90_000, 250);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`fair work: the slow tenant's 48 ExternalSecrets (48 distinct reads at 5 s each) Ready in ${seconds.toFixed(1)} s\n`);
    // 16 (--workers, the default spec.slowCalls.maxWaiting) calls at a time: 3 rounds of 5 s, not 48 one after another.
    expect(seconds).toBeLessThan(40);
    proxy.set({ mode: 'pass' });
    await removeNamespace(tenantA);
  }, 300_000);
});
