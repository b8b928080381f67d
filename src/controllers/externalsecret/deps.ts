// What the ExternalSecret reconciler and its collaborators are given.
import type { ExternalSecret } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import type { KubeObject } from '../../kube/types.js';
import type { HostPolicy } from '../../providers/host-policy.js';
import type { StoreClients } from '../../providers/store-clients.js';
import type { Informer } from '../../runtime/informer.js';
import type { Metrics } from '../../runtime/metrics.js';
import type { HmacKey } from '../../secrets/data-hash.js';
import type { StoreResolver } from '../../secrets/store-resolver.js';
import type { WorkloadRestarts } from './workload-restarts.js';

export interface ExternalSecretDeps {
  kube: KubeClient;
  externalSecrets: Informer<ExternalSecret>;
  /** Managed Secrets, metadata only. */
  secrets: Informer<KubeObject>;
  stores: StoreResolver;
  storeClients: StoreClients;
  hmacKey: HmacKey;
  events: EventRecorder;
  metrics: Metrics;
  /** How old a shared provider read may be and still serve another ExternalSecret. */
  sharedReadMaxAgeMs: number;
  /** The ExternalSecret keys that use a store (by store key). */
  dependentsOf: (store: string) => Iterable<string>;
  /** Queues the ExternalSecrets that write a Secret (a change to it that was not ours). */
  secretChanged: (secretKey: string) => void;
  /** Restarts workloads when a Secret's data changes; undefined without --rollout-restart. */
  restarts?: WorkloadRestarts;
  /** --deny-store-hosts, applied to generator endpoints. */
  hostPolicy?: HostPolicy;
  /** The first wait before a Secret ESO wrote back is taken over again (eso-retakes.ts). */
  esoRetakeBaseMs?: number;
  /** Labels every Secret written in a namespace carries besides ours (sharded: its shard label). */
  secretLabels?: (namespace: string) => Record<string, string>;
}
