// What the member Leases of a ring say (tests and the sharded bench): which
// buckets each replica holds, and whether the buckets have settled among a
// set of replicas (every bucket held once, each replica holding what the
// leader assigned it, so no move is under way).
import { SHARD_ASSIGNMENT_ANNOTATION, SHARD_HOLDS_ANNOTATION, SHARD_RING_LABEL } from '../../src/api/names.js';
import type { KubeClient } from '../../src/kube/client.js';
import { Resources, type KubeObject } from '../../src/kube/types.js';
import { BUCKET_COUNT, parseBuckets } from '../../src/runtime/sharding/buckets.js';
import { assignmentLeaseName, parseAssignment } from '../../src/runtime/sharding/ring-view.js';

/** A replica's name from its identity (POD_NAME, then "_" and a random suffix). */
const replicaOf = (identity: string) => identity.replace(/_[0-9a-f]+$/, '');

/** What each member Lease says it holds, by replica name. */
export async function ringHolds(kube: KubeClient, namespace: string, ring: string): Promise<Map<string, Set<number>>> {
  const leases = await kube.list<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace, labelSelector: `${SHARD_RING_LABEL}=${ring}` });
  const out = new Map<string, Set<number>>();
  for (const lease of leases.items) {
    const holder = lease.spec?.holderIdentity;
    if (holder) out.set(replicaOf(holder), parseBuckets(lease.metadata.annotations?.[SHARD_HOLDS_ANNOTATION]));
  }
  return out;
}

/** The holds, once every bucket is held by exactly one of `names`, each holds some, and each what it was assigned. */
export async function settledAmong(kube: KubeClient, namespace: string, ring: string, names: string[]): Promise<Map<string, Set<number>> | undefined> {
  const held = await ringHolds(kube, namespace, ring);
  if (names.some((n) => !held.get(n)?.size)) return undefined;
  const all = names.flatMap((n) => [...held.get(n)!]);
  if (all.length !== BUCKET_COUNT || new Set(all).size !== BUCKET_COUNT) return undefined;
  const assignment = await kube.get<KubeObject>(Resources.Lease, namespace, assignmentLeaseName(ring));
  const assigned = new Map<string, number>();
  for (const member of parseAssignment(assignment.metadata.annotations?.[SHARD_ASSIGNMENT_ANNOTATION]).values()) {
    assigned.set(replicaOf(member), (assigned.get(replicaOf(member)) ?? 0) + 1);
  }
  return names.every((n) => assigned.get(n) === held.get(n)!.size) ? held : undefined;
}
