// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
// a candidate takes the Lease when it is free or its holder has not renewed
// it within the lease duration (judged by when this process last saw the
// record change, so clocks need not agree), the leader renews it every retry
// period, and a leader that cannot renew within the renew deadline has lost
// it. Writes carry the resourceVersion they read, so two candidates cannot
// both win. On stop the leader releases the Lease (empty holder) so the next
// candidate takes over at once instead of after the lease duration.
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { Resources } from '../kube/types.js';
import { microTime, type Lease } from './sharding/lease.js';
import { errorMessage } from '../util/errors.js';
import type { Lifecycle } from './lifecycle.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Written on the Lease with each acquire and renewal (sharding: the leader says it shards). */
  annotations?: Record<string, string>;
  log: Logger;
  /** Called once this process holds the Lease. */
  onStartedLeading: () => void;
  /** Called when a leader fails to renew within the renew deadline (not on a release at stop). */
  onStoppedLeading: () => void;
}

export class LeaderElector implements Lifecycle {
  private leading = false;
  private stopped = false;
  private observed?: { holder: string; renewTime?: string; at: number };
  /** The last Lease refusal said (RBAC): the same one is not said again. */
  private forbidden?: string;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private readonly stopController = new AbortController();

  constructor(private readonly kube: KubeClient, private readonly opts: LeaderElectionOptions) {}

  start(): void {
    this.opts.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'waiting to become the leader');
    void this.tick();
  }

  /** Stops campaigning; a leader releases the Lease so another takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopController.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read(AbortSignal.timeout(this.opts.retryPeriodMs * 2));
      if (lease?.spec?.holderIdentity !== this.opts.identity) return;
      const now = Date.now();
      await this.write({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) } }, AbortSignal.timeout(this.opts.retryPeriodMs * 2));
      this.opts.log.info('released the leader Lease');
    } catch (err) {
      this.opts.log.warn({ err: errorMessage(err) }, 'could not release the leader Lease; the next leader waits for it to expire');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const ok = await this.tryAcquireOrRenew();
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ identity: this.opts.identity }, 'became the leader');
        this.opts.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
      this.leading = false;
      this.opts.log.error({ renewDeadlineMs: this.opts.renewDeadlineMs }, 'lost the leader Lease: could not renew it within the renew deadline');
      this.opts.onStoppedLeading();
      return;
    }
    // client-go's jitter: candidates spread out instead of polling in step.
    const wait = this.leading ? this.opts.retryPeriodMs : this.opts.retryPeriodMs * (1 + 0.2 * Math.random());
    this.timer = setTimeout(() => void this.tick(), wait);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    // One attempt may not outlive the renew deadline, or a hung apiserver would keep a stale leader going.
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(Math.max(1000, Math.min(this.opts.renewDeadlineMs / 2, this.opts.retryPeriodMs * 2)))]);
    const { identity } = this.opts;
    const durationS = Math.max(1, Math.round(this.opts.leaseDurationMs / 1000));
    try {
      const lease = await this.read(signal);
      if (!lease) {
        await this.write({
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace, annotations: this.opts.annotations },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        }, signal, true);
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== spec.renewTime) {
        this.observed = { holder, renewTime: spec.renewTime, at: now };
      }
      const heldByOther = holder !== '' && holder !== identity;
      const expired = this.observed.at + (spec.leaseDurationSeconds ?? durationS) * 1000 < now;
      if (heldByOther && !expired) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      await this.write({
        ...lease,
        metadata: this.opts.annotations ? { ...lease.metadata, annotations: { ...lease.metadata.annotations, ...this.opts.annotations } } : lease.metadata,
        spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: holder === identity ? spec.acquireTime : microTime(now), renewTime: microTime(now), leaseTransitions: transitions },
      }, signal);
      return true;
    } catch (err) {
      if (this.stopped) return false;
      if (err instanceof KubeApiError && err.status === 403) {
        // RBAC, not a race: said once (it may be granted later, and is tried again each retry period).
        if (this.forbidden !== err.message) {
          this.forbidden = err.message;
          this.opts.log.error({ lease: `${this.opts.namespace}/${this.opts.name}`, err: errorMessage(err) }, `may not use the leader Lease: grant get, create and update on leases (coordination.k8s.io) in namespace ${this.opts.namespace}; not leading until then`);
        }
        return false;
      }
      this.opts.log.debug({ err: errorMessage(err) }, 'leader Lease not acquired or renewed this time');
      return false;
    }
  }

  private async read(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.kube.request<Lease>('GET', this.kube.path(Resources.Lease, this.opts.namespace, this.opts.name), { signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Create, or replace with the read resourceVersion (a conflict means another candidate won). */
  private async write(lease: Lease, signal: AbortSignal, create = false): Promise<void> {
    const path = this.kube.path(Resources.Lease, this.opts.namespace, create ? undefined : this.opts.name);
    await this.kube.request(create ? 'POST' : 'PUT', path, { body: lease, signal });
  }
}
