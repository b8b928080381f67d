// With --shards: the replicas share the ExternalSecrets instead of one leading
// and the others standing by (docs/operations.md#sharding). This file builds
// the parts (runtime/sharding/) and gives them the operator's: each replica
// caches and reconciles only the namespaces of the buckets it holds, and a
// handover stops the work on a bucket before its next holder starts.
import type { Logger } from 'pino';
import { MANAGED_LABEL, SHARD_LABEL } from './api/names.js';
import { parseStoreKey } from './api/store-id.js';
import type { ExternalSecret } from './api/types.js';
import type { KubeClient } from './kube/client.js';
import type { KubeObject } from './kube/types.js';
import type { Controller } from './runtime/controller.js';
import type { Informer, InformerOptions } from './runtime/informer.js';
import { stopInOrder, type Lifecycle } from './runtime/lifecycle.js';
import type { Metrics } from './runtime/metrics.js';
import { Assigner } from './runtime/sharding/assigner.js';
import { ChangeRelay, type Change, type ChangeRelayOptions } from './runtime/sharding/change-relay.js';
import { bucketOf, bucketSelector } from './runtime/sharding/buckets.js';
import { ShardLabeler } from './runtime/sharding/labeler.js';
import { MemberLease, type MemberLeaseOptions } from './runtime/sharding/member-lease.js';
import { RingView } from './runtime/sharding/ring-view.js';
import { ShardMember, type SliceHooks } from './runtime/sharding/shard-member.js';

/** Where the Leases live (the operator's namespace), the ring (the leader Lease's name), who this replica is, and leader election's timings. */
export type ShardingOptions = Omit<MemberLeaseOptions, 'log' | 'onLost'>;

export interface ShardedParts {
  externalSecrets: Informer<ExternalSecret>;
  /** Managed Secrets. */
  secrets: Informer<KubeObject>;
  /** The controllers whose work on a bucket must stop before it is given up. */
  controllers: () => Controller[];
  /** Namespaces taken on: the work on what is cached whole (stores, PushSecrets) is queued again. */
  takenOn: (namespace: (ns: string) => boolean) => void;
  /** Namespaces given up: their debounced workload restarts go out now. */
  givenUp: (namespace: (ns: string) => boolean) => Promise<void>;
  /** Membership lost (the member Lease not renewed within the renew deadline): all work has stopped. */
  onLost: () => void;
  /** With provider change events: the changes the leader relays, for the readers this replica holds (change-relay.ts). */
  changes?: Pick<ChangeRelayOptions, 'deliver'>;
}

/** The namespace of a work key: "ns/name", or a store's "SecretStore/ns/name"; undefined for a cluster-scoped one. */
export function namespaceOfKey(key: string): string | undefined {
  const store = parseStoreKey(key);
  if (store) return store.namespace;
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : undefined;
}

/** Whether a work key is of a namespace in these buckets. */
const keyIn = (buckets: Set<number>) => (key: string) => {
  const namespace = namespaceOfKey(key);
  return namespace !== undefined && buckets.has(bucketOf(namespace));
};

/** The label selector of our managed Secrets in these buckets. */
const secretSelector = (buckets: Iterable<number>) => `${MANAGED_LABEL}=true,${bucketSelector(buckets)}`;

/** The selectors the sliced caches start with: nothing, until buckets are acquired. */
export const INITIAL_SELECTORS = { externalSecrets: bucketSelector([]), secrets: secretSelector([]) };

/** The shard label value for objects of a namespace (written on every Secret we write). */
export const shardLabels = (namespace: string) => ({ [SHARD_LABEL]: String(bucketOf(namespace)) });

export class Sharding implements Lifecycle {
  private readonly view: RingView;
  private readonly lease: MemberLease;
  private readonly member: ShardMember;
  private readonly labeler: ShardLabeler;
  private readonly assigner: Assigner;
  private readonly relay?: ChangeRelay;
  private leading = false;

  constructor(kube: KubeClient, metrics: Metrics, log: Logger, opts: ShardingOptions, parts: ShardedParts, informer?: Partial<InformerOptions>) {
    const slog = log.child({ shard: opts.identity });
    this.view = new RingView(kube, { namespace: opts.namespace, ring: opts.ring, log: slog, informer });
    this.lease = new MemberLease(kube, {
      ...opts,
      log: slog,
      onLost: () => void this.member.abandon().finally(parts.onLost),
    });
    this.member = new ShardMember(this.view, this.lease, this.hooks(parts, metrics), { identity: opts.identity, log: slog });
    // Secrets before their ExternalSecrets (labeler.ts).
    this.labeler = new ShardLabeler(kube, [{ informer: parts.secrets, selector: `${MANAGED_LABEL}=true` }, { informer: parts.externalSecrets, after: true }],
      (ns) => this.member.owns(ns), metrics, { log: slog, informer });
    this.assigner = new Assigner(kube, this.view, { namespace: opts.namespace, ring: opts.ring, log: slog, retryPeriodMs: opts.retryPeriodMs });
    if (parts.changes) {
      this.relay = new ChangeRelay(kube, { namespace: opts.namespace, ring: opts.ring, log: slog, informer, deliver: parts.changes.deliver, onMissed: (n) => metrics.refreshEvents.inc({ source: 'ring', result: 'missed' }, n) });
    }
  }

  /** The leader: provider changes go to every replica, each refreshing the readers it holds. */
  publishChanges(changes: Change[]): void {
    this.relay?.publish(changes);
  }

  /** Whether this replica works on a namespaced key now (a cluster-scoped one: only while leading). */
  ownsKey(key: string): boolean {
    const namespace = namespaceOfKey(key);
    return namespace === undefined ? this.leading : this.member.owns(namespace);
  }

  /** Joins the ring; buckets come as the leader assigns them. */
  async start(): Promise<void> {
    await this.view.start();
    // Before any bucket is held: what is relayed from then on reaches this replica.
    await this.relay?.start();
    await this.lease.start();
    await this.labeler.start();
    this.member.start();
  }

  /** Leading: this replica also writes the assignment. */
  lead(): void {
    if (this.leading) return;
    this.leading = true;
    this.assigner.start();
  }

  /** Every bucket's work stops and is said to have, then the member Lease goes: the others take over at once. */
  async stop(): Promise<void> {
    await stopInOrder([this.assigner, this.member, this.lease, this.labeler, this.relay, this.view]);
  }

  private hooks(parts: ShardedParts, metrics: Metrics): SliceHooks {
    const inScope = (held: Set<number>) => (obj: KubeObject) => held.has(Number(obj.metadata.labels?.[SHARD_LABEL] ?? -1));
    // Secrets first: an ExternalSecret of a new bucket then finds its Secret cached.
    const rescope = async (held: Set<number>) => {
      await parts.secrets.rescope(secretSelector(held), inScope(held));
      await parts.externalSecrets.rescope(bucketSelector(held), inScope(held));
    };
    return {
      acquire: async (buckets, held) => {
        await rescope(held);
        parts.takenOn((ns) => buckets.has(bucketOf(ns)));
        // Changes relayed lately may have come after the previous holder stopped: they are acted on here.
        this.relay?.replay(keyIn(buckets));
        this.labeler.acquired(buckets);
        metrics.shardBuckets.set(held.size);
        metrics.shardHandovers.inc({ direction: 'acquired' }, buckets.size);
      },
      release: async (buckets, held) => {
        await Promise.all(parts.controllers().map((c) => c.drain(keyIn(buckets))));
        await parts.givenUp((ns) => buckets.has(bucketOf(ns)));
        await rescope(held);
        metrics.shardBuckets.set(held.size);
        metrics.shardHandovers.inc({ direction: 'released' }, buckets.size);
      },
    };
  }
}
