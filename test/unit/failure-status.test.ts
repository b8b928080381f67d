// A sync its held-back store turned away (failure-status.ts): an ExternalSecret
// already synced stays Ready with its Secret as it was (no status write, no
// Event); one not yet synced says why, once. Either way it runs again later.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Reason } from '../../src/api/reasons.js';
import type { ExternalSecret, ExternalSecretStatus } from '../../src/api/types.js';
import { FailureStatus } from '../../src/controllers/externalsecret/failure-status.js';
import { StoreHeldBackError } from '../../src/providers/errors.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { toSyncError } from '../../src/secrets/errors.js';

function setup() {
  const writes: ExternalSecretStatus[] = [];
  const events: Array<{ type: string; reason: string }> = [];
  const failures = new FailureStatus(
    { metrics: new Metrics(), events: { emit: (_o: unknown, type: string, reason: string) => events.push({ type, reason }) } } as never,
    { write: (_es: ExternalSecret, status: ExternalSecretStatus) => Promise.resolve(void writes.push(status)) } as never,
    {} as never,
  );
  const ctx = { signal: new AbortController().signal, log: pino({ level: 'silent' }), release: () => undefined };
  return { failures, writes, events, ctx };
}

const es = (ready: 'True' | 'False' | undefined, observed = 3): ExternalSecret => ({
  apiVersion: 'secretsync.dev/v1alpha1', kind: 'ExternalSecret',
  metadata: { name: 'es', namespace: 'tenant', generation: 3 },
  spec: { secretStoreRef: { name: 'vault' } },
  status: ready ? { observedGeneration: observed, conditions: [{ type: 'Ready', status: ready, reason: Reason.Synced, message: 'in sync', lastTransitionTime: '2026-12-07T00:00:00Z' }] } : undefined,
});

const heldBack = toSyncError(new StoreHeldBackError('store SecretStore/tenant/vault is held back: ...'));

describe('FailureStatus.heldBack', () => {
  it('an ExternalSecret already synced stays Ready: no status write, no Event; it runs again within 30 s', async () => {
    const { failures, writes, events, ctx } = setup();
    expect(await failures.heldBack(es('True'), heldBack, ctx)).toEqual({ requeueAfterMs: 30_000 });
    expect(writes).toEqual([]);
    expect(events).toEqual([]);
  });

  it('one not yet synced (or whose spec changed since) shows Ready=False StoreHeldBack with a Warning', async () => {
    for (const object of [es(undefined), es('True', 2), es('False')]) {
      const { failures, writes, events, ctx } = setup();
      await failures.heldBack(object, heldBack, ctx);
      expect(writes.map((s) => s.conditions?.find((c) => c.type === 'Ready'))).toMatchObject([{ status: 'False', reason: Reason.StoreHeldBack }]);
      expect(events).toEqual([{ type: 'Warning', reason: Reason.StoreHeldBack }]);
    }
  });
});
