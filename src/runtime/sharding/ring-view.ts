// What this replica knows of the ring, from a watch on its Leases: which
// members are alive, which buckets each says it holds, and the assignment the
// leader wrote. A member is alive while its Lease has changed within its lease
// duration, judged by when this process saw the change (as leader election
// judges, so clocks need not agree); an expiry is an event too, on a timer.
import type { Logger } from 'pino';
import { SHARDING_LEADER_ANNOTATION, SHARD_ASSIGNMENT_ANNOTATION, SHARD_HOLDS_ANNOTATION, SHARD_RING_LABEL } from '../../api/names.js';
import type { KubeClient } from '../../kube/client.js';
import { Resources } from '../../kube/types.js';
import { Informer, type InformerOptions } from '../informer.js';
import type { Lifecycle } from '../lifecycle.js';
import { parseBuckets } from './buckets.js';
import type { Lease } from './lease.js';

export const assignmentLeaseName = (ring: string) => `${ring}-assignment`;

interface Seen {
  renewTime?: string;
  at: number;
}

export class RingView implements Lifecycle {
  private readonly leases: Informer<Lease>;
  /** The leader Lease: who leads decides whether the assignment stands. */
  private readonly leader: Informer<Lease>;
  private readonly seen = new Map<string, Seen>();
  private readonly listeners: Array<() => void> = [];
  private expiryTimer?: NodeJS.Timeout;

  constructor(kube: KubeClient, private readonly opts: { namespace: string; ring: string; log: Logger; informer?: Partial<InformerOptions> }) {
    this.leases = new Informer<Lease>(kube, Resources.Lease, {
      ...opts.informer,
      log: opts.log,
      namespace: opts.namespace,
      labelSelector: `${SHARD_RING_LABEL}=${opts.ring}`,
      // Leases renew every few seconds: the watch is never silent for long.
      idleTimeoutMs: 60_000,
    });
    this.leader = new Informer<Lease>(kube, Resources.Lease, {
      ...opts.informer,
      log: opts.log,
      namespace: opts.namespace,
      fieldSelector: `metadata.name=${opts.ring}`,
      idleTimeoutMs: 60_000,
    });
    const changed = () => this.changed();
    this.leases.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
    // Only a change of holder matters here, not each renewal.
    const holderChanged = (before: Lease | undefined, after: Lease | undefined) => {
      if (before?.spec?.holderIdentity !== after?.spec?.holderIdentity) this.changed();
    };
    this.leader.addHandlers({ onAdd: (l) => holderChanged(undefined, l), onUpdate: holderChanged, onDelete: (l) => holderChanged(l, undefined) });
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    await Promise.all([this.leases.start(), this.leader.start()]);
  }

  async stop(): Promise<void> {
    clearTimeout(this.expiryTimer);
    await Promise.all([this.leases.stop(), this.leader.stop()]);
  }

  /** Members alive now, by identity. */
  liveMembers(now = Date.now()): Set<string> {
    const out = new Set<string>();
    for (const lease of this.memberLeases()) if (this.alive(lease, now)) out.add(lease.spec!.holderIdentity!);
    return out;
  }

  /** The buckets each live member other than `self` says it holds. */
  heldByOthers(self: string, now = Date.now()): Map<number, string> {
    const out = new Map<number, string>();
    for (const lease of this.memberLeases()) {
      const member = lease.spec!.holderIdentity!;
      if (member === self || !this.alive(lease, now)) continue;
      for (const b of parseBuckets(lease.metadata.annotations?.[SHARD_HOLDS_ANNOTATION])) out.set(b, member);
    }
    return out;
  }

  /** What each live member says it holds. */
  holdsOf(member: string, now = Date.now()): Set<number> | undefined {
    for (const lease of this.memberLeases()) {
      if (lease.spec!.holderIdentity === member && this.alive(lease, now)) return parseBuckets(lease.metadata.annotations?.[SHARD_HOLDS_ANNOTATION]);
    }
    return undefined;
  }

  /**
   * The leader's assignment, bucket -> member; empty while a leader that does
   * not shard holds the leader Lease (every bucket stops for it).
   */
  assignment(): Map<number, string> {
    return this.shardingLeader() ? this.writtenAssignment() : new Map<number, string>();
  }

  /** The assignment as written, whoever leads now (the leader builds on it). */
  writtenAssignment(): Map<number, string> {
    return parseAssignment(this.assignmentLease()?.metadata.annotations?.[SHARD_ASSIGNMENT_ANNOTATION]);
  }

  /** Nobody leads, or the leader shards (it names itself on the leader Lease as it writes it). */
  shardingLeader(): boolean {
    const lease = this.leader.get(`${this.opts.namespace}/${this.opts.ring}`);
    const holder = lease?.spec?.holderIdentity ?? '';
    return holder === '' || lease?.metadata.annotations?.[SHARDING_LEADER_ANNOTATION] === holder;
  }

  assignmentLease(): Lease | undefined {
    return this.leases.get(`${this.opts.namespace}/${assignmentLeaseName(this.opts.ring)}`);
  }

  private *memberLeases(): Iterable<Lease> {
    const assignment = assignmentLeaseName(this.opts.ring);
    for (const lease of this.leases.values()) {
      if (lease.metadata.name !== assignment && lease.spec?.holderIdentity) yield lease;
    }
  }

  private alive(lease: Lease, now: number): boolean {
    const seen = this.seen.get(lease.metadata.name);
    if (!seen) return false;
    return now - seen.at < (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  }

  private changed(): void {
    const now = Date.now();
    const names = new Set<string>();
    let nextExpiry = Infinity;
    for (const lease of this.memberLeases()) {
      const name = lease.metadata.name;
      names.add(name);
      const seen = this.seen.get(name);
      if (!seen || seen.renewTime !== lease.spec?.renewTime) this.seen.set(name, { renewTime: lease.spec?.renewTime, at: now });
      const expiry = this.seen.get(name)!.at + (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
      if (expiry > now) nextExpiry = Math.min(nextExpiry, expiry);
    }
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
    clearTimeout(this.expiryTimer);
    if (nextExpiry < Infinity) {
      this.expiryTimer = setTimeout(() => this.changed(), nextExpiry - now + 5);
      this.expiryTimer.unref();
    }
    for (const listener of this.listeners) listener();
  }
}

/** `{"member": "0-3,7"}` -> bucket -> member. */
export function parseAssignment(text: string | undefined): Map<number, string> {
  const out = new Map<number, string>();
  if (!text) return out;
  try {
    for (const [member, buckets] of Object.entries(JSON.parse(text) as Record<string, string>)) {
      for (const b of parseBuckets(buckets)) out.set(b, member);
    }
  } catch {
    // A hand-edited annotation that is not JSON assigns nothing; the leader writes it again.
  }
  return out;
}
