// Finds the store an ExternalSecret may use. A SecretStore only from the
// ExternalSecret's own namespace; a ClusterSecretStore only where its
// conditions admit the namespace; either only once it is Ready.
import { Reason } from '../../api/reasons.js';
import { storeIdFor, type StoreId } from '../../api/store-id.js';
import type { AnyStore, ClusterSecretStore, ExternalSecret, SecretStore } from '../../api/types.js';
import { findReady } from '../../kube/status.js';
import type { KubeObject } from '../../kube/types.js';
import type { Informer } from '../../runtime/informer.js';
import { namespaceAdmitted } from '../store/namespace-conditions.js';
import { isStoreReady } from '../store/store-ready.js';
import { SyncError } from './sync-error.js';

export interface ResolvedStore {
  store: AnyStore;
  id: StoreId;
}

export class StoreResolver {
  constructor(
    private readonly stores: Informer<SecretStore>,
    private readonly clusterStores: Informer<ClusterSecretStore>,
    private readonly namespaces: Informer<KubeObject>,
  ) {}

  /** The referenced store as cached, whatever its state (no access checks). */
  peek(es: ExternalSecret): AnyStore | undefined {
    const id = storeIdFor(es);
    return id.kind === 'ClusterSecretStore' ? this.clusterStores.get(id.name) : this.stores.get(`${id.namespace}/${id.name}`);
  }

  resolve(es: ExternalSecret): ResolvedStore {
    const namespace = es.metadata.namespace!;
    const id = storeIdFor(es);
    const store = this.peek(es);
    if (id.kind === 'SecretStore') {
      if (!store) throw new SyncError(Reason.StoreNotFound, `SecretStore "${id.name}" not found in namespace "${namespace}"`, false);
    } else {
      if (!store) throw new SyncError(Reason.StoreNotFound, `ClusterSecretStore "${id.name}" not found`, false);
      const labels = this.namespaces.get(namespace)?.metadata.labels ?? {};
      if (!namespaceAdmitted(store.spec.conditions, namespace, labels)) {
        throw new SyncError(Reason.StoreNotAllowed, `ClusterSecretStore "${id.name}" does not admit namespace "${namespace}" (see its spec.conditions)`, false);
      }
    }
    if (!isStoreReady(store)) {
      const ready = findReady(store.status);
      const why = ready && ready.status === 'False' ? `: ${ready.message}` : ' yet';
      throw new SyncError(Reason.StoreNotReady, `${id.kind} "${id.name}" is not ready${why}`, false);
    }
    return { store, id };
  }
}
