// Provider change events under --shards: the change Lease's entries (kept
// for a while, numbered, within the annotation budget) and RefreshEvents in
// relay mode (the leader sends every change to the ring; each replica
// refreshes only the readers it holds, and on a replay only those asked for).
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { RefreshEvents } from '../../src/refresh-events/refresh-events.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { appendEntry, MAX_ANNOTATION_BYTES, parseEntries, RETAIN_MS, type Change } from '../../src/runtime/sharding/change-relay.js';

describe('the change Lease entries', () => {
  it('numbers each entry after the highest kept, and drops entries older than the retention', () => {
    const first = appendEntry(undefined, [['SecretStore/a/vault', 'db']], 1_000);
    expect(first.seq).toBe(1);
    const second = appendEntry(first.text, [['SecretStore/b/vault', 'api']], 2_000);
    expect(second.seq).toBe(2);
    expect(parseEntries(second.text).map((e) => e.seq)).toEqual([1, 2]);
    const later = appendEntry(second.text, [['ClusterSecretStore/shared', 'x']], 1_000 + RETAIN_MS);
    expect(later.seq).toBe(3);
    expect(parseEntries(later.text).map((e) => e.seq)).toEqual([2, 3]);
  });

  it('stays within the annotation budget, dropping the oldest first, and keeps the newest whatever its size', () => {
    fc.assert(fc.property(fc.array(fc.array(fc.tuple(fc.string({ maxLength: 60 }), fc.string({ maxLength: 400 })), { maxLength: 300 }), { minLength: 1, maxLength: 30 }), (writes) => {
      let text: string | undefined;
      let seq = 0;
      for (const changes of writes) ({ text, seq } = appendEntry(text, changes, 5_000));
      const entries = parseEntries(text);
      expect(entries.at(-1)!.seq).toBe(seq);
      expect(entries.at(-1)!.changes).toEqual(writes.at(-1));
      if (entries.length > 1) expect(Buffer.byteLength(text!)).toBeLessThanOrEqual(MAX_ANNOTATION_BYTES);
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => seq - entries.length + 1 + i));
    }), { numRuns: 50 });
  });

  it('reads an annotation that is not ours as no entries', () => {
    expect(parseEntries('not json')).toEqual([]);
    expect(parseEntries('{"seq":1}')).toEqual([]);
    expect(parseEntries('[{"seq":1,"at":1,"changes":[["a"]]}]')).toEqual([]);
  });
});

const es = (namespace: string, name: string, key: string): ExternalSecret => ({
  apiVersion: 'secretsync.dev/v1alpha1', kind: 'ExternalSecret', metadata: { namespace, name },
  spec: { secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'v', remoteRef: { key } }] },
});

describe('RefreshEvents under --shards', () => {
  it('the leader relays every change of a window once, known here or not, and refreshes nothing itself', async () => {
    vi.useFakeTimers();
    try {
      const relay = vi.fn<(changes: Change[]) => void>();
      const refresh = vi.fn();
      const events = new RefreshEvents({ metrics: new Metrics(), log: pino({ level: 'silent' }), windowMs: 100, refresh, relay });
      const store = 'ClusterSecretStore/shared';
      expect(events.changed({ stores: [store], keys: ['db', 'arn:db'], source: 'webhook' })).toBe('relayed');
      expect(events.changed({ stores: [store], keys: ['db'], source: 'webhook' })).toBe('relayed');
      await vi.advanceTimersByTimeAsync(100);
      expect(relay).toHaveBeenCalledTimes(1);
      expect(relay.mock.calls[0]![0]).toEqual([[store, 'db'], [store, 'arn:db']]);
      expect(refresh).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('a replica refreshes only the readers it holds; a replay refreshes only those it is asked for', () => {
    const refresh = vi.fn<(esKeys: Iterable<string>, since: number) => void>();
    const events = new RefreshEvents({ metrics: new Metrics(), log: pino({ level: 'silent' }), windowMs: 100, refresh, relay: () => undefined });
    events.index.set(es('team-a', 'db', 'db'));
    events.index.set(es('team-b', 'db', 'db'));
    events.index.set(es('team-b', 'other', 'other'));
    const store = 'ClusterSecretStore/shared';
    events.relayed([[store, 'db'], [store, 'nobody-reads-this']], 42);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect([...refresh.mock.calls[0]![0]].sort()).toEqual(['team-a/db', 'team-b/db']);
    expect(refresh.mock.calls[0]![1]).toBe(42);
    events.relayed([[store, 'db']], 43, (key) => key.startsWith('team-b/'));
    expect([...refresh.mock.calls[1]![0]]).toEqual(['team-b/db']);
    events.relayed([[store, 'nobody-reads-this']], 44);
    expect(refresh).toHaveBeenCalledTimes(2);
  });
});
