// This replica's membership: a Lease of its own, renewed every retry period as
// leader election renews the leader's, that also says which buckets the
// replica holds (works on) now. Saying it is how a replica acknowledges a
// handover: a bucket leaves the annotation only once its work has stopped, and
// enters it before its work starts. A replica that cannot renew within the
// renew deadline has lost its membership and must stop all work, before the
// others judge the Lease expired (lease duration > renew deadline).
import type { Logger } from 'pino';
import { SHARD_HOLDS_ANNOTATION, SHARD_RING_LABEL } from '../../api/names.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { Resources } from '../../kube/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Lifecycle } from '../lifecycle.js';
import { formatBuckets } from './buckets.js';
import { microTime, type Lease } from './lease.js';

export interface MemberLeaseOptions {
  namespace: string;
  /** The ring: the leader Lease's name. */
  ring: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  /** Not renewed within the renew deadline: every bucket must stop now. */
  onLost: () => void;
}

/** A Lease name (a DNS subdomain) for the member: the identity, lower-cased, with what a name may not hold turned into "-". */
export const memberLeaseName = (ring: string, identity: string) =>
  `${ring}-member-${identity.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');

export class MemberLease implements Lifecycle {
  private lease?: Lease;
  private holds = '';
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lost = false;
  /** Writes one at a time: a renewal and a change of holds never race. */
  private writing: Promise<boolean> = Promise.resolve(true);

  constructor(private readonly kube: KubeClient, private readonly opts: MemberLeaseOptions) {}

  get name(): string {
    return memberLeaseName(this.opts.ring, this.opts.identity);
  }

  /** Joins the ring holding nothing; resolves once the Lease is written. */
  async start(): Promise<void> {
    for (let delay = 200; !(await this.write()); delay = Math.min(delay * 2, this.opts.retryPeriodMs)) {
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, delay));
    }
    this.schedule();
  }

  /** Says these buckets are held now; false when it could not be said (nothing may start then). */
  publish(buckets: Iterable<number>): Promise<boolean> {
    this.holds = formatBuckets(buckets);
    return this.enqueue();
  }

  /** Leaves the ring: the Lease goes, so the leader hands its buckets on at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
    try {
      await this.kube.delete(Resources.Lease, this.opts.namespace, this.name);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) this.opts.log.warn({ err: errorMessage(err) }, 'could not delete the shard member Lease; the others wait for it to expire');
    }
  }

  private schedule(): void {
    if (this.stopped || this.lost) return;
    this.timer = setTimeout(() => {
      void this.enqueue().then(() => {
        if (!this.stopped && !this.lost && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) {
          this.lost = true;
          this.opts.log.error({ renewDeadlineMs: this.opts.renewDeadlineMs }, 'lost shard membership: could not renew the member Lease within the renew deadline');
          this.opts.onLost();
          return;
        }
        this.schedule();
      });
    }, this.opts.retryPeriodMs);
  }

  private enqueue(): Promise<boolean> {
    const next = this.writing.then(() => (this.stopped || this.lost ? false : this.write()));
    this.writing = next;
    return next;
  }

  /** Create, or replace at the resourceVersion last written (this replica is the Lease's only writer). */
  private async write(): Promise<boolean> {
    const now = Date.now();
    const { namespace, ring, identity } = this.opts;
    const signal = AbortSignal.timeout(Math.max(1000, Math.min(this.opts.renewDeadlineMs / 2, this.opts.retryPeriodMs * 2)));
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace,
        labels: { [SHARD_RING_LABEL]: ring },
        annotations: { [SHARD_HOLDS_ANNOTATION]: this.holds },
        ...(this.lease ? { resourceVersion: this.lease.metadata.resourceVersion } : {}),
      },
      spec: { holderIdentity: identity, leaseDurationSeconds: Math.max(1, Math.round(this.opts.leaseDurationMs / 1000)), renewTime: microTime(now) },
    };
    try {
      this.lease = this.lease
        ? await this.kube.request<Lease>('PUT', this.kube.path(Resources.Lease, namespace, this.name), { body, signal })
        : await this.createOrReplace(body, signal);
      this.lastRenew = now;
      return true;
    } catch (err) {
      // Someone else wrote it (a predecessor of the same name): read it and write over it next time.
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) this.lease = undefined;
      this.opts.log.debug({ err: errorMessage(err) }, 'shard member Lease not written this time');
      return false;
    }
  }

  private async createOrReplace(body: Lease, signal: AbortSignal): Promise<Lease> {
    const existing = await this.kube.getOrUndefined<Lease>(Resources.Lease, this.opts.namespace, this.name);
    if (!existing) return this.kube.request<Lease>('POST', this.kube.path(Resources.Lease, this.opts.namespace), { body, signal });
    body.metadata.resourceVersion = existing.metadata.resourceVersion;
    return this.kube.request<Lease>('PUT', this.kube.path(Resources.Lease, this.opts.namespace, this.name), { body, signal });
  }
}
