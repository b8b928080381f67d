// A leader that does not shard, taking over from replicas that did (a rollout
// away from --shards): before it reconciles anything, the members named in
// the last assignment must have stopped. They stop on their own once they see
// it hold the leader Lease (ring-view.ts); this waits until each member Lease
// holds nothing, is gone, or has not been renewed for its lease duration. It
// reads the Leases by name (get only: the RBAC leader election already has).
import type { Logger } from 'pino';
import { SHARD_ASSIGNMENT_ANNOTATION, SHARD_HOLDS_ANNOTATION } from '../../api/names.js';
import type { KubeClient } from '../../kube/client.js';
import { Resources } from '../../kube/types.js';
import { errorMessage } from '../../util/errors.js';
import { parseBuckets } from './buckets.js';
import type { Lease } from './lease.js';
import { memberLeaseName } from './member-lease.js';
import { assignmentLeaseName, parseAssignment } from './ring-view.js';

export async function untilRingIdle(kube: KubeClient, opts: { namespace: string; ring: string; pollMs: number; log: Logger; signal: AbortSignal }): Promise<void> {
  const { namespace, ring, log } = opts;
  try {
    const assignment = await kube.getOrUndefined<Lease>(Resources.Lease, namespace, assignmentLeaseName(ring));
    if (!assignment) return;
    const members = new Set(parseAssignment(assignment.metadata.annotations?.[SHARD_ASSIGNMENT_ANNOTATION]).values());
    const seen = new Map<string, { renewTime?: string; at: number }>();
    for (;;) {
      const busy: string[] = [];
      for (const member of members) {
        const lease = await kube.getOrUndefined<Lease>(Resources.Lease, namespace, memberLeaseName(ring, member));
        if (!lease || parseBuckets(lease.metadata.annotations?.[SHARD_HOLDS_ANNOTATION]).size === 0) continue;
        const last = seen.get(member);
        if (!last || last.renewTime !== lease.spec?.renewTime) seen.set(member, { renewTime: lease.spec?.renewTime, at: Date.now() });
        if (Date.now() - seen.get(member)!.at < (lease.spec?.leaseDurationSeconds ?? 15) * 1000) busy.push(member);
      }
      if (busy.length === 0) return;
      log.info({ members: busy }, 'waiting for the shard members of the previous leader to stop before reconciling');
      await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
      if (opts.signal.aborted) return;
    }
  } catch (err) {
    // The members stop on their own; what this cannot read it cannot wait for.
    log.warn({ err: errorMessage(err) }, 'could not check for shard members still working; reconciling');
  }
}
