// This replica's part of the sharding: it follows the leader's assignment.
// A bucket assigned elsewhere is released: its work stops (new reconciles
// refused, those in flight aborted and awaited, the cache let go of it) and
// only then does the member Lease stop saying it is held. A bucket assigned
// here is taken once no other live member says it holds it: first the member
// Lease says it is held, then the work starts. So at no moment do two replicas
// work on one bucket, and a replica that dies is out of the way once its Lease
// expires (it stopped itself at the renew deadline before that).
import type { Logger } from 'pino';
import type { Lifecycle } from '../lifecycle.js';
import { bucketOf, formatBuckets } from './buckets.js';
import { Coalesced } from './coalesced.js';
import type { MemberLease } from './member-lease.js';
import type { RingView } from './ring-view.js';

export interface SliceHooks {
  /** These buckets are held from now on: fill the caches with them (resolves once filled). */
  acquire(buckets: Set<number>, held: Set<number>): Promise<void>;
  /** These buckets are no longer held: stop their work in flight and let go of them (resolves once stopped). */
  release(buckets: Set<number>, held: Set<number>): Promise<void>;
}

export class ShardMember implements Lifecycle {
  /** Buckets worked on now: a reconcile of a namespace outside them is refused. */
  private readonly active = new Set<number>();
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly evaluation = new Coalesced(
    () => this.step(),
    (err) => this.opts.log.error({ err: (err as Error).message }, 'shard handover step failed; trying again on the next change'),
    () => this.stopped,
  );

  constructor(
    private readonly view: RingView,
    private readonly lease: MemberLease,
    private readonly hooks: SliceHooks,
    private readonly opts: { identity: string; log: Logger },
  ) {
    view.onChange(() => this.evaluation.ask());
  }

  /** Whether this replica works on the namespace now. */
  owns(namespace: string): boolean {
    return this.active.has(bucketOf(namespace));
  }

  start(): void {
    this.evaluation.ask();
  }

  /** Releases every bucket (stopping their work), then says so; the caller deletes the Lease after. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.evaluation.settled();
    await this.releaseAll();
  }

  /** Membership lost: nothing may run from now on, whatever the API server says. */
  async abandon(): Promise<void> {
    this.stopped = true;
    await this.releaseAll(false);
  }

  private async releaseAll(say = true): Promise<void> {
    if (this.active.size === 0) return;
    const all = new Set(this.active);
    this.active.clear();
    await this.hooks.release(all, new Set());
    if (say) await this.lease.publish([]);
  }

  private async step(): Promise<void> {
    const { identity } = this.opts;
    const assigned = new Set<number>();
    for (const [bucket, member] of this.view.assignment()) if (member === identity) assigned.add(bucket);
    const release = new Set([...this.active].filter((b) => !assigned.has(b)));
    if (release.size > 0) {
      for (const b of release) this.active.delete(b);
      await this.hooks.release(release, new Set(this.active));
      // Stopped: now say so, and the next holder may start.
      await this.lease.publish(this.active);
      this.opts.log.info({ released: formatBuckets(release), holds: this.active.size }, 'shard buckets released');
    }
    const others = this.view.heldByOthers(identity);
    const take = new Set([...assigned].filter((b) => !this.active.has(b) && !others.has(b)));
    if (take.size === 0 || this.stopped) return;
    // Said before started: if the claim cannot be written, nothing starts.
    if (!(await this.lease.publish([...this.active, ...take]))) {
      await this.lease.publish(this.active);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.evaluation.ask(), 1000);
      return;
    }
    for (const b of take) this.active.add(b);
    await this.hooks.acquire(take, new Set(this.active));
    this.opts.log.info({ acquired: formatBuckets(take), holds: this.active.size }, 'shard buckets acquired');
  }
}
