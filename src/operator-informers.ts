// The operator's caches: which kinds it watches, and with what scope.
import { MANAGED_LABEL } from './api/names.js';
import type { ClusterExternalSecret, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore } from './api/types.js';
import { CLUSTER_EXTERNAL_SECRET_LABEL } from './controllers/clusterexternalsecret/reconciler.js';
import type { KubeClient } from './kube/client.js';
import { Resources, type KubeObject } from './kube/types.js';
import type { OperatorOptions } from './operator-options.js';
import { Informer, type InformerOptions } from './runtime/informer.js';
import { INITIAL_SELECTORS } from './sharding.js';

export interface OperatorInformers {
  externalSecrets: Informer<ExternalSecret>;
  /** Managed Secrets, metadata only. */
  secrets: Informer<KubeObject>;
  stores: Informer<SecretStore>;
  clusterStores: Informer<ClusterSecretStore>;
  namespaces: Informer<KubeObject>;
  /** Only for a cluster-wide installation (they stamp ExternalSecrets into any namespace). */
  clusterExternalSecrets?: Informer<ClusterExternalSecret>;
  /** Sharded: the ExternalSecrets ClusterExternalSecrets made, whichever bucket they are in. */
  externalSecretsOfCes?: Informer<ExternalSecret>;
  pushSecrets: Informer<PushSecret>;
}

export function operatorInformers(kube: KubeClient, opts: OperatorOptions, informerOpts: (kind: string) => InformerOptions): OperatorInformers {
  const ns = opts.watchNamespace;
  // Sharded, these two hold only the buckets this replica holds, and start with none.
  const sliced = opts.sharding ? INITIAL_SELECTORS : undefined;
  const clusterWide = ns === undefined && opts.clusterSecretStores !== false;
  return {
    externalSecrets: new Informer(kube, Resources.ExternalSecret, { ...informerOpts('ExternalSecret'), namespace: ns, labelSelector: sliced?.externalSecrets }),
    secrets: new Informer(kube, Resources.Secret, {
      ...informerOpts('Secret'),
      namespace: ns,
      labelSelector: sliced?.secrets ?? `${MANAGED_LABEL}=true`,
      metadataOnly: true,
      // Who manages each Secret: a Secret we created needs its ownership made an Apply before the first apply.
      keepManagers: true,
    }),
    stores: new Informer(kube, Resources.SecretStore, { ...informerOpts('SecretStore'), namespace: ns }),
    clusterStores: new Informer(kube, Resources.ClusterSecretStore, informerOpts('ClusterSecretStore')),
    namespaces: new Informer(kube, Resources.Namespace, { ...informerOpts('Namespace'), metadataOnly: true }),
    clusterExternalSecrets: clusterWide ? new Informer(kube, Resources.ClusterExternalSecret, informerOpts('ClusterExternalSecret')) : undefined,
    externalSecretsOfCes: clusterWide && sliced
      ? new Informer(kube, Resources.ExternalSecret, { ...informerOpts('ExternalSecretOfCes'), labelSelector: CLUSTER_EXTERNAL_SECRET_LABEL })
      : undefined,
    pushSecrets: new Informer(kube, Resources.PushSecret, { ...informerOpts('PushSecret'), namespace: ns }),
  };
}
