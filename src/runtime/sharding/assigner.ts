// The leader's part of the sharding: it writes which member is to hold each
// bucket, on the assignment Lease. The target is the rendezvous hash of the
// bucket over the live members; a bucket's entry is changed only when its
// current assignee cannot be working on it under the old entry without
// saying so: it is not alive, it never was assigned, or it already says it
// holds the bucket (it will see the change, stop, and say it no longer does;
// the new assignee starts only after that, shard-member.ts).
import type { Logger } from 'pino';
import { SHARD_ASSIGNMENT_ANNOTATION, SHARD_RING_LABEL } from '../../api/names.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { errorMessage } from '../../util/errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { BUCKET_COUNT, formatBuckets } from './buckets.js';
import { writeAnnotatedLease } from './lease.js';
import { Coalesced } from './coalesced.js';
import { assignBuckets } from './rendezvous.js';
import { assignmentLeaseName, type RingView } from './ring-view.js';

export class Assigner implements Lifecycle {
  /** Only the leader writes the assignment: every replica has an Assigner, and it evaluates only once started (on the lead). */
  private started = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly evaluation = new Coalesced(
    () => this.write(this.next()),
    (err) => this.opts.log.error({ err: errorMessage(err) }, 'shard assignment failed; trying again on the next change'),
    () => this.stopped,
  );

  constructor(
    private readonly kube: KubeClient,
    private readonly view: RingView,
    private readonly opts: { namespace: string; ring: string; log: Logger; retryPeriodMs: number },
  ) {
    view.onChange(() => {
      if (this.started) this.evaluation.ask();
    });
  }

  start(): void {
    this.started = true;
    this.evaluation.ask();
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    return Promise.resolve();
  }

  /** The next assignment from the current one and who is alive and holding what. */
  next(now = Date.now()): Map<number, string> {
    const live = this.view.liveMembers(now);
    const target = assignBuckets(live, BUCKET_COUNT);
    const current = this.view.writtenAssignment();
    const next = new Map<number, string>();
    for (const [bucket, member] of target) {
      const assignee = current.get(bucket);
      const movable = assignee === undefined || !live.has(assignee) || this.view.holdsOf(assignee, now)?.has(bucket) === true;
      next.set(bucket, movable ? member : assignee);
    }
    return next;
  }

  private async write(next: Map<number, string>): Promise<void> {
    if (next.size === 0) return;
    const byMember = new Map<string, number[]>();
    for (const [bucket, member] of next) byMember.set(member, [...(byMember.get(member) ?? []), bucket]);
    const text = JSON.stringify(Object.fromEntries([...byMember].sort(([a], [b]) => a.localeCompare(b)).map(([m, bs]) => [m, formatBuckets(bs)])));
    const current = this.view.assignmentLease();
    if (current?.metadata.annotations?.[SHARD_ASSIGNMENT_ANNOTATION] === text) return;
    const { namespace, ring } = this.opts;
    try {
      await writeAnnotatedLease(this.kube, { namespace, name: assignmentLeaseName(ring), labels: { [SHARD_RING_LABEL]: ring } }, { [SHARD_ASSIGNMENT_ANNOTATION]: text }, current);
      this.opts.log.info({ members: [...byMember.keys()].map((m) => `${m}:${byMember.get(m)!.length}`).join(' ') }, 'shard assignment written');
    } catch (err) {
      // A conflict: our view was behind; its watch brings the newer one and evaluates again. Anything else: retry.
      if (!(err instanceof KubeApiError && err.status === 409)) this.opts.log.warn({ err: errorMessage(err) }, 'could not write the shard assignment; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.evaluation.ask(), this.opts.retryPeriodMs);
    }
  }
}
