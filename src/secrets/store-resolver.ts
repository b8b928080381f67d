// Finds the store an ExternalSecret may use. A SecretStore only from the
// ExternalSecret's own namespace; a ClusterSecretStore only where its
// conditions admit the namespace; either only once it is Ready.
import { Reason } from '../api/reasons.js';
import { storeIdFor, type StoreId } from '../api/store-id.js';
import type { AnyStore, ClusterSecretStore, ExternalSecret, SecretStore } from '../api/types.js';
import { findReady } from '../kube/status.js';
import type { KubeObject } from '../kube/types.js';
import type { Informer } from '../runtime/informer.js';
import { namespaceAdmitted } from './namespace-conditions.js';
import { isStoreReady } from './store-ready.js';
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
    /** False in a namespace-scoped installation, which may not read cluster-wide objects. */
    private readonly clusterStoresEnabled = true,
  ) {}

  /** The referenced store as cached, whatever its state (no access checks). */
  peek(es: ExternalSecret): AnyStore | undefined {
    const id = storeIdFor(es);
    if (!id) return undefined;
    return id.kind === 'ClusterSecretStore' ? this.clusterStores.get(id.name) : this.stores.get(`${id.namespace}/${id.name}`);
  }

  resolve(es: ExternalSecret): ResolvedStore {
    const namespace = es.metadata.namespace!;
    const id = storeIdFor(es);
    if (!id) throw new SyncError(Reason.StoreNotFound, 'spec.secretStoreRef is not set', false);
    const store = this.peek(es);
    if (id.kind === 'SecretStore') {
      if (!store) throw new SyncError(Reason.StoreNotFound, `SecretStore "${id.name}" not found in namespace "${namespace}"`, false);
    } else {
      if (!this.clusterStoresEnabled) {
        throw new SyncError(Reason.StoreNotFound, `ClusterSecretStore "${id.name}" cannot be used: this installation watches one namespace and reads no cluster-wide objects (--no-cluster-secret-stores)`, false);
      }
      if (!store) throw new SyncError(Reason.StoreNotFound, `ClusterSecretStore "${id.name}" not found`, false);
      const labels = this.namespaces.get(namespace)?.metadata.labels ?? {};
      if (!namespaceAdmitted(store.spec.conditions, namespace, labels)) {
        throw new SyncError(Reason.StoreNotAllowed, `ClusterSecretStore "${id.name}" does not admit namespace "${namespace}" (see its spec.conditions)`, false);
      }
    }
    if (!isStoreReady(store)) {
      const ready = findReady(store.status);
      // Not yet checked (new, or its spec changed since): a wait, not a failure.
      if (ready?.status !== 'False' || store.status?.observedGeneration !== store.metadata.generation) throw new StorePending(id);
      throw new SyncError(Reason.StoreNotReady, `${id.kind} "${id.name}" is not ready: ${ready.message}`, false);
    }
    return { store, id };
  }
}

/**
 * The store has not been validated for its current spec yet. The ExternalSecret
 * waits without a status change, Event or failure log; the store's first
 * verdict enqueues it again.
 */
export class StorePending extends Error {
  override readonly name = 'StorePending';
  constructor(readonly id: StoreId) {
    super(`${id.kind} "${id.name}" has not been validated yet`);
  }
}
