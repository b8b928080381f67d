// Prometheus metrics. Each operator instance has its own registry, so several
// can run in one process (tests) without clashing.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Values of the `status` label of secretsync_provider_calls_total (a provider failure maps to one: providers/errors.ts). */
export const PROVIDER_CALL_STATUSES = ['ok', 'not_found', 'denied', 'throttled', 'timeout', 'config', 'too_large', 'error'] as const;

export class Metrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: 'secretsync_reconcile_total',
    help: 'Reconciles by controller (externalsecret, store, clusterexternalsecret, pushsecret) and outcome (success, requeue, error, terminal).',
    labelNames: ['controller', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'secretsync_reconcile_duration_seconds',
    help: 'Time spent in one reconcile, by controller.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly providerCalls = new Counter({
    name: 'secretsync_provider_calls_total',
    help: `Calls made to providers (remote requests), by provider, call and status (${PROVIDER_CALL_STATUSES.join(', ')}).`,
    labelNames: ['provider', 'call', 'status'] as const,
    registers: [this.registry],
  });
  readonly providerCacheHits = new Counter({
    name: 'secretsync_provider_cache_hits_total',
    help: 'Provider reads answered by a shared in-flight or recent call instead of a new one, by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly secretWrites = new Counter({
    name: 'secretsync_secret_writes_total',
    help: 'Writes to Secrets, by operation (create, update, adopt: taken over from External Secrets Operator, delete).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly syncs = new Counter({
    name: 'secretsync_sync_total',
    help: 'ExternalSecret sync results, by condition reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'secretsync_watch_restarts_total',
    help: 'Watch streams restarted, by kind and reason (stalled, gone, error).',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });
  readonly kubeRequests = new Counter({
    name: 'secretsync_kube_requests_total',
    help: 'Requests the operator made to the API server (watches aside), by verb (LIST for a GET of a collection), resource and HTTP status.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  readonly refreshEvents = new Counter({
    name: 'secretsync_refresh_events_total',
    help: 'Provider change events received, by source and result: accepted (ExternalSecrets refresh), unknown (no ExternalSecret reads that key), unauthenticated, replayed or malformed (refused; never a provider read); sharded, relayed (the leader sent it to the ring), and source ring: accepted (changed keys some ExternalSecret of this replica reads) or missed (relayed entries gone before this replica saw them).',
    labelNames: ['source', 'result'],
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'secretsync_events_dropped_total',
    help: 'Normal Events not recorded because more were due than their budget allows (Warnings are never dropped).',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'secretsync_queue_depth',
    help: 'Keys waiting in a controller queue, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly storeHeldBack = new Gauge({
    name: 'secretsync_store_held_back',
    help: '1 while a store is held back: enough of its calls went unanswered past --slow-call-after that only spec.slowCalls.maxWaiting of its ExternalSecrets may wait on it at a time (0 once it answers again). By store (Kind/namespace/name).',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });
  readonly storeSlowWaiting = new Gauge({
    name: 'secretsync_store_slow_waiting',
    help: 'ExternalSecret syncs waiting on a store\'s calls for longer than --slow-call-after (each has given its worker back), by store.',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });
  readonly storeTurnedAway = new Counter({
    name: 'secretsync_store_turned_away_total',
    help: 'ExternalSecret syncs put off because their store was held back (each runs again when one of the store\'s calls returns), by store.',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });

  readonly timeToReady = new Histogram({
    name: 'secretsync_time_to_ready_seconds',
    help: 'From an ExternalSecret\'s creation to its first successful sync.',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readySource?: () => Iterable<{ status: string; reason: string } | undefined>;
  readonly externalSecretsReady = new Gauge({
    name: 'secretsync_externalsecret_ready',
    help: 'ExternalSecrets by Ready condition status and reason, as this process\'s cache sees them.',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
    // Counted in nested maps over the cached conditions themselves: a scrape allocates nothing per ExternalSecret.
    collect: () => {
      if (!this.readySource) return;
      const counts = new Map<string, Map<string, number>>();
      for (const c of this.readySource()) {
        const status = c?.status ?? 'Unknown';
        const reason = c?.reason ?? 'Pending';
        let byReason = counts.get(status);
        if (!byReason) counts.set(status, (byReason = new Map<string, number>()));
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      }
      this.externalSecretsReady.reset();
      for (const [status, byReason] of counts) for (const [reason, n] of byReason) this.externalSecretsReady.set({ status, reason }, n);
    },
  });
  readonly leader = new Gauge({
    name: 'secretsync_leader',
    help: '1 while this process holds the leader Lease and reconciles (always 1 without leader election).',
    registers: [this.registry],
  });

  readonly shardBuckets = new Gauge({
    name: 'secretsync_shard_buckets',
    help: 'With --shards: the buckets (of 256) this replica holds and works on now.',
    registers: [this.registry],
  });
  readonly shardHandovers = new Counter({
    name: 'secretsync_shard_handovers_total',
    help: 'With --shards: buckets this replica took (direction="acquired") or gave up after stopping their work (direction="released").',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly shardLabelled = new Counter({
    name: 'secretsync_shard_labelled_total',
    help: 'With --shards: objects given their shard label by this replica (kind: ExternalSecret or Secret).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Where secretsync_externalsecret_ready counts from (each cached ExternalSecret's Ready condition, if any), read at scrape time. */
  countReadyFrom(source: () => Iterable<{ status: string; reason: string } | undefined>): void {
    this.readySource = source;
  }

  enableProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Sum of a counter's values, optionally filtered by labels. */
  async total(counter: Counter<string>, filter: Record<string, string> = {}): Promise<number> {
    const { values } = await counter.get();
    return values
      .filter((v) => Object.entries(filter).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
