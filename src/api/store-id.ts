// A store's identity: its kind, name and (for a SecretStore) namespace. The
// one builder and parser of the string key that the store queue, the client
// cache and the reverse indexes share.
import type { AnyStore, ExternalSecret, StoreKind } from './types.js';

export interface StoreId {
  kind: StoreKind;
  name: string;
  /** Set for a SecretStore only. */
  namespace?: string;
}

/** "SecretStore/<ns>/<name>" or "ClusterSecretStore/<name>". */
export type StoreKey = string;

export function storeKey(id: StoreId): StoreKey {
  return id.kind === 'SecretStore' ? `SecretStore/${id.namespace}/${id.name}` : `ClusterSecretStore/${id.name}`;
}

export function parseStoreKey(key: string): StoreId | undefined {
  const [kind, first, second, ...rest] = key.split('/');
  if (rest.length > 0) return undefined;
  if (kind === 'SecretStore' && first && second) return { kind, namespace: first, name: second };
  if (kind === 'ClusterSecretStore' && first && second === undefined) return { kind, name: first };
  return undefined;
}

export function storeIdOf(store: AnyStore, kind: StoreKind): StoreId {
  return kind === 'SecretStore' ? { kind, name: store.metadata.name, namespace: store.metadata.namespace } : { kind, name: store.metadata.name };
}

/** The store an ExternalSecret refers to (a SecretStore is always in its own namespace); undefined for a generators-only one. */
export function storeIdFor(es: ExternalSecret): StoreId | undefined {
  if (!es.spec.secretStoreRef) return undefined;
  const kind = es.spec.secretStoreRef.kind ?? 'SecretStore';
  const { name } = es.spec.secretStoreRef;
  return kind === 'SecretStore' ? { kind, name, namespace: es.metadata.namespace } : { kind, name };
}
