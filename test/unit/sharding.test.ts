// The sharding's pure parts: buckets and their encodings, and the rendezvous
// assignment moving only about 1/N of the buckets when a member joins or leaves.
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Assigner } from '../../src/runtime/sharding/assigner.js';
import { BUCKET_COUNT, bucketOf, bucketSelector, formatBuckets, parseBuckets } from '../../src/runtime/sharding/buckets.js';
import { assignBuckets } from '../../src/runtime/sharding/rendezvous.js';
import { memberLeaseName } from '../../src/runtime/sharding/member-lease.js';
import { parseAssignment, type RingView } from '../../src/runtime/sharding/ring-view.js';
import { namespaceOfKey } from '../../src/sharding.js';

const moved = (a: Map<number, string>, b: Map<number, string>) => [...a].filter(([bucket, m]) => b.get(bucket) !== m).length;

describe('buckets', () => {
  it('a bucket set survives formatting as ranges', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: BUCKET_COUNT - 1 })), (buckets) => {
      expect([...parseBuckets(formatBuckets(buckets))].sort((x, y) => x - y)).toEqual([...buckets].sort((x, y) => x - y));
    }));
    expect(formatBuckets([5, 0, 1, 2, 7, 8])).toBe('0-2,5,7-8');
    expect(parseBuckets('0-2,x,300,9')).toEqual(new Set([0, 1, 2, 9]));
  });

  it('a namespace always falls in the same bucket, and namespaces spread over all of them', () => {
    expect(bucketOf('team-a')).toBe(bucketOf('team-a'));
    const seen = new Set(Array.from({ length: 5000 }, (_, i) => bucketOf(`ns-${i}`)));
    expect(seen.size).toBe(BUCKET_COUNT);
  });

  it('selects nothing for no buckets, and the buckets for some', () => {
    expect(bucketSelector([])).toBe('secretsync.dev/shard in (none)');
    expect(bucketSelector([3, 1])).toBe('secretsync.dev/shard in (1,3)');
  });

  it('keys name their namespace, store keys included; cluster-scoped ones none', () => {
    expect(namespaceOfKey('team-a/db')).toBe('team-a');
    expect(namespaceOfKey('SecretStore/team-a/vault')).toBe('team-a');
    expect(namespaceOfKey('ClusterSecretStore/shared')).toBeUndefined();
    expect(namespaceOfKey('shared-ces')).toBeUndefined();
  });

  it('member Lease names are valid object names whatever the identity', () => {
    expect(memberLeaseName('secretsync-leader', 'Pod_A1b2')).toBe('secretsync-leader-member-pod-a1b2');
    expect(memberLeaseName('r', 'x'.repeat(300)).length).toBeLessThanOrEqual(253);
  });
});

describe('rendezvous assignment', () => {
  const three = assignBuckets(['r-a', 'r-b', 'r-c'], BUCKET_COUNT);

  it('spreads the buckets evenly', () => {
    const counts = new Map<string, number>();
    for (const m of three.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - BUCKET_COUNT / 3)).toBeLessThan(BUCKET_COUNT / 3 * 0.25);
  });

  it('a fourth member takes about a quarter, all from the others, and nothing else moves', () => {
    const four = assignBuckets(['r-a', 'r-b', 'r-c', 'r-d'], BUCKET_COUNT);
    const changed = [...three].filter(([b, m]) => four.get(b) !== m);
    expect(changed.every(([b]) => four.get(b) === 'r-d')).toBe(true);
    expect(changed.length / BUCKET_COUNT).toBeGreaterThan(0.18);
    expect(changed.length / BUCKET_COUNT).toBeLessThan(0.32);
  });

  it('a member leaving gives up only its own buckets', () => {
    const two = assignBuckets(['r-a', 'r-c'], BUCKET_COUNT);
    const bBuckets = [...three].filter(([, m]) => m === 'r-b').length;
    expect(moved(three, two)).toBe(bBuckets);
  });

  it('does not depend on the order members are listed in', () => {
    expect(assignBuckets(['r-c', 'r-a', 'r-b'], BUCKET_COUNT)).toEqual(three);
  });

  it('an assignment annotation that is not JSON assigns nothing', () => {
    expect(parseAssignment('{"r-a":"0-1"}')).toEqual(new Map([[0, 'r-a'], [1, 'r-a']]));
    expect(parseAssignment('not json').size).toBe(0);
  });
});

describe('the leader moves a bucket only from an assignee that holds it or is dead', () => {
  const view = (live: string[], holds: Record<string, number[]>, written: Map<number, string>) => ({
    onChange: () => undefined,
    liveMembers: () => new Set(live),
    holdsOf: (m: string) => (live.includes(m) ? new Set(holds[m] ?? []) : undefined),
    writtenAssignment: () => written,
  }) as unknown as RingView;
  const assigner = (v: RingView) => new Assigner({} as KubeClient, v, { namespace: 'ns', ring: 'r', log: pino({ level: 'silent' }), retryPeriodMs: 1000 });

  it('first assignment: every bucket to its rendezvous member', () => {
    const next = assigner(view(['r-a', 'r-b'], {}, new Map())).next();
    expect(next).toEqual(assignBuckets(['r-a', 'r-b'], BUCKET_COUNT));
  });

  it('a joiner gets a bucket only once its assignee says it holds it', () => {
    const two = assignBuckets(['r-a', 'r-b'], BUCKET_COUNT);
    const three = assignBuckets(['r-a', 'r-b', 'r-c'], BUCKET_COUNT);
    const moving = [...three].filter(([, m]) => m === 'r-c').map(([b]) => b);
    const [held, notYet] = [moving[0]!, moving[1]!];
    const holdsA = [...two].filter(([b, m]) => m === 'r-a' && b !== notYet).map(([b]) => b);
    const holdsB = [...two].filter(([b, m]) => m === 'r-b' && b !== notYet).map(([b]) => b);
    const next = assigner(view(['r-a', 'r-b', 'r-c'], { 'r-a': holdsA, 'r-b': holdsB }, two)).next();
    expect(next.get(held)).toBe('r-c');
    // Its assignee has not said it holds it yet: it may be about to start, so it keeps it for now.
    expect(next.get(notYet)).toBe(two.get(notYet));
  });

  it('the buckets of a dead member go at once, whatever it said it held', () => {
    const three = assignBuckets(['r-a', 'r-b', 'r-c'], BUCKET_COUNT);
    const next = assigner(view(['r-a', 'r-b'], {}, three)).next();
    expect(next).toEqual(assignBuckets(['r-a', 'r-b'], BUCKET_COUNT));
  });

  it('only a started (leading) assigner writes on a change of the ring; the others, with views a moment apart, would fight over it', async () => {
    let changed = () => undefined as void;
    const requests: string[] = [];
    const kube = { request: (method: string) => (requests.push(method), Promise.resolve({})), path: () => '/leases' } as unknown as KubeClient;
    const v = { ...view(['r-a', 'r-b'], {}, new Map()), onChange: (l: () => void) => (changed = l), assignmentLease: () => undefined } as unknown as RingView;
    const follower = new Assigner(kube, v, { namespace: 'ns', ring: 'r', log: pino({ level: 'silent' }), retryPeriodMs: 1000 });
    changed();
    await new Promise((r) => setTimeout(r, 10));
    expect(requests).toEqual([]);
    follower.start();
    await new Promise((r) => setTimeout(r, 10));
    expect(requests).toEqual(['POST']);
    await follower.stop();
  });
});
