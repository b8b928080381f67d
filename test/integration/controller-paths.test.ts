// Every controller path a provider can cause, with the programmable provider
// (test/support/scripted-provider.ts) in place of a server: typed errors,
// throttling with a retry hint, hangs and slow answers against the call
// deadline, leases, stale expiry dates, rotation dates, read sharing, the
// store's call budget and force-sync. The API server is the real one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCE_SYNC_ANNOTATION } from '../../src/api/names.js';
import { Reason } from '../../src/api/reasons.js';
import { Resources } from '../../src/kube/types.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import {
  createExternalSecret, createStore, decoded, events, getES, getSecret, kube, newNamespace, ready, startOperator, waitFor,
  waitForReady, waitForStoreReady, type TestOperator,
} from './harness.js';

const VALUE = 'scripted-secret-value-4r5t';
const DEADLINE_MS = 1500;
const scripted = new ScriptedProvider();
let op: TestOperator;

beforeAll(async () => {
  op = await startOperator({ providers: { fake: scripted }, providerTimeoutMs: DEADLINE_MS, workers: 2 });
});
afterAll(async () => {
  await op.stop();
  expect(op.logs.lines.length).toBeGreaterThan(0);
  expect(op.logs.text).not.toContain(VALUE);
});

/** A namespace with a store served by the scripted provider; keys are prefixed by the namespace. */
async function setup(): Promise<{ ns: string; key: (k: string) => string }> {
  const ns = await newNamespace();
  await createStore(ns, 'scripted', { provider: { fake: { data: [] } } });
  await waitForStoreReady(ns, 'scripted');
  return { ns, key: (k) => `${ns}/${k}` };
}

const es = (remoteKey: string, extra: Record<string, unknown> = {}) => ({
  secretStoreRef: { name: 'scripted' },
  data: [{ secretKey: 'v', remoteRef: { key: remoteKey } }],
  ...extra,
});

async function expectWarning(ns: string, name: string, reason: string): Promise<void> {
  await waitFor(`Warning ${reason}`, async () => (await events(ns, name)).some((e) => e.type === 'Warning' && e.reason === reason));
}

describe('controller paths, scripted provider', () => {
  it('a failure only a change can fix is Stalled=True for kstatus; the fix clears it', async () => {
    const ns = await newNamespace();
    scripted.set(`${ns}/s`, { value: VALUE });
    await createExternalSecret(ns, 'es', es(`${ns}/s`));
    const stalled = await waitForReady(ns, 'es', 'False', 'StoreNotFound');
    expect(stalled.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'StoreNotFound', observedGeneration: stalled.metadata.generation });
    await createStore(ns, 'scripted', { provider: { fake: { data: [] } } });
    const synced = await waitForReady(ns, 'es');
    expect(synced.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  });

  it('an ExternalSecret whose store is not validated yet waits: no Ready=False, no Warning, no failure log', async () => {
    const ns = await newNamespace();
    scripted.set(`${ns}/early`, { value: VALUE });
    // Slower than a sync, within the provider deadline.
    scripted.validateDelayMs = DEADLINE_MS / 2;
    try {
      await createStore(ns, 'scripted', { provider: { fake: { data: [] } } });
      await createExternalSecret(ns, 'early', es(`${ns}/early`));
      const seen: string[] = [];
      await waitFor('Ready after the store is validated', async () => {
        const c = ready(await getES(ns, 'early'));
        if (c) seen.push(`${c.status} ${c.reason}`);
        return c?.status === 'True';
      }, 20_000, 25);
      expect(seen.filter((s) => !s.startsWith('True'))).toEqual([]);
      expect((await events(ns, 'early')).filter((e) => e.type === 'Warning')).toEqual([]);
      expect(op.logs.lines.filter((l) => l.includes(`${ns}/early`) && /sync failed|reconcile failed/.test(l))).toEqual([]);
    } finally {
      scripted.validateDelayMs = 0;
    }
  });

  it.each([
    ['NotFound', Reason.RemoteNotFound, /not found/],
    ['PermissionDenied', Reason.PermissionDenied, /may not read/],
    ['Config', Reason.ProviderError, /misconfigured/],
  ] as const)('%s: Ready=False with its reason and a Warning, the Secret untouched', async (error, reason, message) => {
    const { ns, key } = await setup();
    scripted.set(key('a'), { value: VALUE });
    await createExternalSecret(ns, 'es', es(key('a')));
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    scripted.set(key('a'), { error });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: error } } });
    const failed = await waitForReady(ns, 'es', 'False', reason);
    expect(ready(failed)?.message).toMatch(message);
    await expectWarning(ns, 'es', reason);
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('a provider that never answers frees its worker at the deadline: ProviderTimeout, and other keys flow meanwhile', async () => {
    const { ns, key } = await setup();
    scripted.set(key('hang'), { hang: true }).set(key('ok'), { value: 'fine' });
    // More hung ExternalSecrets than workers: without the deadline no worker would be left.
    for (const name of ['h1', 'h2', 'h3']) await createExternalSecret(ns, name, es(key('hang')));
    await createExternalSecret(ns, 'flows', es(key('ok')));
    await waitForReady(ns, 'flows', 'True', undefined, 15_000);
    const timedOut = await waitForReady(ns, 'h1', 'False', Reason.ProviderTimeout, 15_000);
    expect(ready(timedOut)?.message).toBe(`fake did not answer within ${DEADLINE_MS / 1000}s (getSecret ${key('hang')})`);
    await expectWarning(ns, 'h1', Reason.ProviderTimeout);
  });

  it('a slow answer within the deadline syncs', async () => {
    const { ns, key } = await setup();
    scripted.set(key('slow'), { value: 'late but fine', delayMs: DEADLINE_MS / 2 });
    await createExternalSecret(ns, 'es', es(key('slow')));
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe('late but fine');
  });

  it('throttled with a retry hint: ProviderThrottled, and the whole store waits out the hint before its next call', async () => {
    const { ns, key } = await setup();
    scripted.set(key('t'), { error: 'Throttled', retryAfterMs: 3000 }).set(key('other'), { value: 'o' });
    await createExternalSecret(ns, 'es', es(key('t')));
    await waitForReady(ns, 'es', 'False', Reason.Throttled);
    const throttledAt = scripted.callsFor(key('t'))[0]!.at;
    // Throttled once: were it throttled on every retry, each retry would hold the store anew and
    // could take the token before the other ExternalSecret, again and again.
    scripted.set(key('t'), { value: 't' });
    // Another ExternalSecret on the same store must wait for the hold too.
    await createExternalSecret(ns, 'other', es(key('other')));
    await waitForReady(ns, 'other', 'True', undefined, 15_000);
    expect(scripted.callsFor(key('other'))[0]!.at - throttledAt).toBeGreaterThanOrEqual(2900);
  });

  it('a lease: refreshed before it ends, again and again', async () => {
    const { ns, key } = await setup();
    const lease = () => ({ value: 'leased', leaseEndsAt: new Date(Date.now() + 9_000) });
    scripted.set(key('lease'), lease());
    await createExternalSecret(ns, 'es', es(key('lease'), { refreshInterval: '1h' }));
    const first = await waitForReady(ns, 'es');
    const next = Date.parse(first.status!.nextRefreshTime!);
    expect(next).toBeLessThan(Date.parse(first.status!.sources![0]!.expiresAt!));
    scripted.set(key('lease'), lease());
    await waitFor('refetched before the lease ended', () => scripted.callsFor(key('lease')).length >= 2, 15_000);
  });

  it('a stored expiry date in the past: synced, reason RemoteSecretExpired with a Warning, and the normal interval (no refresh loop)', async () => {
    const { ns, key } = await setup();
    const expiresAt = new Date(Date.now() - 60_000);
    scripted.set(key('old'), { value: 'stale', expiresAt });
    await createExternalSecret(ns, 'es', es(key('old'), { refreshInterval: '1h' }));
    const synced = await waitForReady(ns, 'es', 'True', Reason.SourceExpired);
    expect(ready(synced)?.message).toContain(`"${key('old')}" (expired ${expiresAt.toISOString()})`);
    expect(decoded(await getSecret(ns, 'es')).v).toBe('stale');
    await expectWarning(ns, 'es', Reason.SourceExpired);
    // The store's beat: between a quarter and a whole interval away, never a loop on the past date.
    const next = Date.parse(synced.status!.nextRefreshTime!) - Date.parse(synced.status!.refreshTime!);
    expect(next).toBeGreaterThanOrEqual(3_600_000 / 4);
    expect(next).toBeLessThanOrEqual(3_600_000);
    // Replaced by its owner: the reason goes back to SecretSynced on the next sync.
    scripted.set(key('old'), { value: 'fresh', expiresAt: new Date(Date.now() + 86_400_000) });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: 'replaced' } } });
    await waitForReady(ns, 'es', 'True', Reason.Synced);
    expect(scripted.callsFor(key('old'))).toHaveLength(2);
  });

  it('ExternalSecrets of one store refresh together on its beat, and the refresh reads each distinct key once', async () => {
    const { ns, key } = await setup();
    const keys = Array.from({ length: 4 }, (_, k) => key(`beat-${k}`));
    for (const k of keys) scripted.set(k, { value: VALUE });
    const names = Array.from({ length: 40 }, (_, i) => `beat-${i}`);
    await Promise.all(names.map((name, i) => createExternalSecret(ns, name, es(keys[i % 4]!, { refreshInterval: '6s' }))));
    const synced = await Promise.all(names.map((name) => waitForReady(ns, name)));
    // Synced within three quarters of an interval of each other: one beat for all 40.
    expect(new Set(synced.map((e) => e.status!.nextRefreshTime)).size).toBe(1);
    const calls = () => keys.map((k) => scripted.callsFor(k).length);
    const before = calls();
    await waitFor('all 40 refreshed', async () => {
      const now = await Promise.all(names.map((name) => getES(ns, name)));
      return now.every((e, i) => e.status!.refreshTime !== synced[i]!.status!.refreshTime);
    }, 20_000, 100);
    // 4 distinct keys: one more read each, not 10 (nor one per worker or per shared-read window).
    expect(calls().map((n, k) => n - before[k]!)).toEqual([1, 1, 1, 1]);
    // And the next refresh is again one moment for all.
    const refreshed = await Promise.all(names.map((name) => getES(ns, name)));
    expect(new Set(refreshed.map((e) => e.status!.nextRefreshTime)).size).toBe(1);
  });

  it('a rotation date schedules the refresh just after it', async () => {
    const { ns, key } = await setup();
    const rotatesAt = new Date(Date.now() + 10 * 60_000);
    scripted.set(key('rot'), { value: 'r', rotatesAt });
    await createExternalSecret(ns, 'es', es(key('rot'), { refreshInterval: '24h' }));
    const synced = await waitForReady(ns, 'es');
    const next = Date.parse(synced.status!.nextRefreshTime!);
    expect(next).toBeGreaterThanOrEqual(rotatesAt.getTime() + 30_000);
    expect(next).toBeLessThanOrEqual(rotatesAt.getTime() + 60_000);
  });

  it('identical reads share one provider call', async () => {
    const { ns, key } = await setup();
    scripted.set(key('shared'), { value: 'same', delayMs: 300 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => createExternalSecret(ns, `es-${i}`, es(key('shared')))));
    for (let i = 0; i < 8; i++) await waitForReady(ns, `es-${i}`);
    expect(scripted.callsFor(key('shared'))).toHaveLength(1);
  });

  it('the store rateLimit spaces its calls', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'scripted', { provider: { fake: { data: [] } }, rateLimit: { qps: 2, burst: 1 } });
    await waitForStoreReady(ns, 'scripted');
    for (let i = 0; i < 4; i++) scripted.set(`${ns}/k${i}`, { value: `v${i}` });
    await Promise.all(Array.from({ length: 4 }, (_, i) => createExternalSecret(ns, `es-${i}`, es(`${ns}/k${i}`))));
    for (let i = 0; i < 4; i++) await waitForReady(ns, `es-${i}`);
    const times = scripted.calls.filter((c) => c.key.startsWith(`${ns}/`)).map((c) => c.at).sort((a, b) => a - b);
    expect(times).toHaveLength(4);
    // 2 per second after a burst of 1: four calls span at least ~1.5 s.
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(1400);
  });

  it('force-sync bypasses a shared read that is still fresh', async () => {
    const { ns, key } = await setup();
    scripted.set(key('f'), { value: 'one' });
    await createExternalSecret(ns, 'es', es(key('f'), { refreshInterval: '1h' }));
    await waitForReady(ns, 'es');
    // The value changes; a plain re-sync inside the shared-read window would still see "one".
    scripted.set(key('f'), { value: 'two' });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { [FORCE_SYNC_ANNOTATION]: '1' } } });
    await waitFor('forced sync', async () => decoded(await getSecret(ns, 'es')).v === 'two');
    expect(scripted.callsFor(key('f'))).toHaveLength(2);
    expect((await getES(ns, 'es')).status?.refreshTime).toBeDefined();
  });
});
