// Finds the store an ExternalSecret may use. A SecretStore only from the
// ExternalSecret's own namespace; a ClusterSecretStore only where its
// conditions admit the namespace; either only once it is Ready.
import type { AnyStore, ClusterSecretStore, ExternalSecret, SecretStore, StoreKind } from '../../api/types.js';
import type { KubeObject } from '../../kube/types.js';
import type { Informer } from '../../runtime/informer.js';
import { Reason, SyncError } from '../externalsecret/reasons.js';
import { namespaceAdmitted } from './namespace-conditions.js';

export interface ResolvedStore {
  store: AnyStore;
  kind: StoreKind;
  /** Key shared with StoreClients and the store controller's queue. */
  key: string;
}

export function storeKey(kind: StoreKind, name: string, namespace?: string): string {
  return kind === 'SecretStore' ? `SecretStore/${namespace}/${name}` : `ClusterSecretStore/${name}`;
}

export function storeRefKey(es: ExternalSecret): string {
  const kind = es.spec.secretStoreRef.kind ?? 'SecretStore';
  return storeKey(kind, es.spec.secretStoreRef.name, es.metadata.namespace);
}

export function isStoreReady(store: AnyStore): boolean {
  const ready = store.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && store.status?.observedGeneration === store.metadata.generation;
}

export class StoreResolver {
  constructor(
    private readonly stores: Informer<SecretStore>,
    private readonly clusterStores: Informer<ClusterSecretStore>,
    private readonly namespaces: Informer<KubeObject>,
  ) {}

  /** The referenced store as cached, whatever its state (no access checks). */
  peek(es: ExternalSecret): AnyStore | undefined {
    const { name, kind } = es.spec.secretStoreRef;
    return kind === 'ClusterSecretStore' ? this.clusterStores.get(name) : this.stores.get(`${es.metadata.namespace}/${name}`);
  }

  resolve(es: ExternalSecret): ResolvedStore {
    const namespace = es.metadata.namespace!;
    const { name } = es.spec.secretStoreRef;
    const kind = es.spec.secretStoreRef.kind ?? 'SecretStore';
    const key = storeKey(kind, name, namespace);
    let store: AnyStore | undefined;
    if (kind === 'SecretStore') {
      store = this.stores.get(`${namespace}/${name}`);
      if (!store) throw new SyncError(Reason.StoreNotFound, `SecretStore "${name}" not found in namespace "${namespace}"`, false);
    } else {
      store = this.clusterStores.get(name);
      if (!store) throw new SyncError(Reason.StoreNotFound, `ClusterSecretStore "${name}" not found`, false);
      const labels = this.namespaces.get(namespace)?.metadata.labels ?? {};
      if (!namespaceAdmitted(store.spec.conditions, namespace, labels)) {
        throw new SyncError(Reason.StoreNotAllowed, `ClusterSecretStore "${name}" does not admit namespace "${namespace}" (see its spec.conditions)`, false);
      }
    }
    if (!isStoreReady(store)) {
      const ready = store.status?.conditions?.find((c) => c.type === 'Ready');
      const why = ready && ready.status === 'False' ? `: ${ready.message}` : ' yet';
      throw new SyncError(Reason.StoreNotReady, `${kind} "${name}" is not ready${why}`, false);
    }
    return { store, kind, key };
  }
}
