// Parts the operator builds the same way each time: a controller for each of
// its kinds (the same retry policy, outcomes and queue depth counted, the
// reconcile journal if any), and the store clients with their seats.
import { ExponentialBackoff, RetryRateLimiter } from './runtime/backoff.js';
import { Controller, type Reconcile } from './runtime/controller.js';
import type { Logger } from 'pino';
import type { Metrics } from './runtime/metrics.js';
import type { ReconcileJournal } from './runtime/reconcile-journal.js';
import type { WorkQueue } from './runtime/workqueue.js';
import { TokenBucket } from './util/token-bucket.js';
import type { KubeClient } from './kube/client.js';
import type { OperatorOptions } from './operator-options.js';
import { StoreClients } from './providers/store-clients.js';

export interface OperatorControllerOptions {
  name: string;
  queue: WorkQueue;
  workers: number;
  reconcile: Reconcile;
  /** Sharded: whether this replica works on a key now. */
  owns?: (key: string) => boolean;
  metrics: Metrics;
  log: Logger;
  journal?: ReconcileJournal;
}

export function operatorController(o: OperatorControllerOptions): Controller {
  const { name, queue, metrics } = o;
  return new Controller({
    name,
    queue,
    workers: o.workers,
    owns: o.owns,
    journal: o.journal,
    // 1 s doubling to 5 min per key; at most 10 retries/s (burst 100) overall.
    retry: new RetryRateLimiter(new ExponentialBackoff(1000, 5 * 60_000), new TokenBucket(10, 100)),
    reconcile: o.reconcile,
    log: o.log,
    onOutcome: (outcome, ms) => {
      metrics.reconciles.inc({ controller: name, outcome });
      metrics.reconcileSeconds.observe({ controller: name }, ms / 1000);
      metrics.queueDepth.set({ controller: name }, queue.length);
    },
  });
}

/** Store clients, with seats for ExternalSecret syncs (store-seats.ts); `wake` queues a sync put off by a held-back store. */
export function operatorStoreClients(kube: KubeClient, metrics: Metrics, opts: OperatorOptions, defaultWorkers: number, wake: (key: string) => void): StoreClients {
  const workers = opts.workers ?? defaultWorkers;
  return new StoreClients(kube, metrics, {
    callTimeoutMs: opts.providerTimeoutMs ?? 30_000,
    providers: opts.providers,
    providerOptions: opts.providerOptions,
    hostPolicy: opts.storeHostPolicy,
    resolve: opts.storeHostResolve,
    seats: {
      slowMs: opts.slowCallMs ?? 500,
      defaultMaxWaiting: workers,
      maxHolding: Math.max(1, Math.ceil(workers / 4)),
      wake,
    },
  });
}
