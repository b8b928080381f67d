// What the operator is given: operator-main.ts builds it from the flags, tests directly.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { HostPolicy, Resolve } from './providers/host-policy.js';
import type { ProviderOptions } from './providers/provider.js';
import type { ProviderOverrides } from './providers/registry.js';
import type { AzureEventGridOptions } from './refresh-events/azure-eventgrid.js';
import type { WebhookOptions } from './refresh-events/webhook.js';
import type { InformerOptions } from './runtime/informer.js';
import type { LeaderElectionOptions } from './runtime/leader-election.js';
import type { Metrics } from './runtime/metrics.js';
import type { ReconcileJournal } from './runtime/reconcile-journal.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The operator's own namespace (holds the HMAC key Secret). */
  namespace: string;
  /** Reconcile only this namespace's ExternalSecrets and SecretStores. */
  watchNamespace?: string;
  /** Watch ClusterSecretStores and Namespaces (cluster-wide reads); off for a namespace-scoped installation. */
  clusterSecretStores?: boolean;
  workers?: number;
  sharedReadMaxAgeMs?: number;
  /** Deadline of one provider call (default 30 s). */
  providerTimeoutMs?: number;
  /** A sync waiting on its store's calls this long gives its worker back (store-seats.ts); default 500 ms. */
  slowCallMs?: number;
  /** Address ranges namespaced SecretStores may not point the operator at (SSRF guard); none when unset. */
  storeHostPolicy?: HostPolicy;
  /** How the host policy resolves store endpoints (tests; dns.lookup otherwise). */
  storeHostResolve?: Resolve;
  /** Providers that replace the registered ones (tests inject programmable providers). */
  providers?: ProviderOverrides;
  /** The operator's choices for providers' clients (--gcpsm-transport). */
  providerOptions?: ProviderOptions;
  log: Logger;
  metrics?: Metrics;
  informer?: Pick<InformerOptions, 'relistIntervalMs' | 'watchTimeoutSeconds' | 'idleTimeoutMs'>;
  /** Reconcile only while holding this Lease; caches stay warm meanwhile. Without it, reconcile at once. */
  leaderElection?: Omit<LeaderElectionOptions, 'log' | 'onStartedLeading' | 'onStoppedLeading'>;
  /** The Lease was lost (not renewed within the renew deadline): the operator has stopped itself. */
  onLeadershipLost?: () => void;
  /** Restart workloads when a Secret's data changes (needs RBAC to list and patch them); off when unset. */
  rolloutRestart?: { debounceMs: number };
  /** Refresh on provider change events (collected for windowMs): stores' SQS queues and Pub/Sub subscriptions, and the webhook when set; off when unset. */
  refreshEvents?: { windowMs: number; webhook?: Omit<WebhookOptions, 'isLeader' | 'azureEventGrid'>; azureEventGrid?: AzureEventGridOptions };
  /**
   * This Pod (in `namespace`) carries the label secretsync.dev/leader: "true"
   * while it leads, so a Service can send the refresh webhook to the leader.
   */
  leaderLabelPod?: string;
  /**
   * Share the work among the replicas (with leaderElection): each holds the
   * namespaces of some buckets and caches only those (sharding.ts).
   */
  sharding?: boolean;
  /** Told of every reconcile's start and end (--reconcile-journal, a diagnostic). */
  reconcileJournal?: ReconcileJournal;
  /** The first wait before a Secret External Secrets Operator wrote back is taken over again (doubling up to 5 min); 5 s when unset. */
  esoRetakeBaseMs?: number;
}
