// The stores a PushSecret writes through: by name, or every store of a kind
// whose labels match. Access rules are an ExternalSecret's (a SecretStore of
// its own namespace; a ClusterSecretStore only where its conditions admit
// the namespace; only once Ready).
import { storeKey } from '../../api/store-id.js';
import type { AnyStore, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore } from '../../api/types.js';
import type { Informer } from '../../runtime/informer.js';
import { selectorMatches } from '../../secrets/namespace-conditions.js';
import type { StoreResolver } from '../../secrets/store-resolver.js';

export interface PushStore {
  /** Kind/name, as status.syncedPushSecrets keys it. */
  name: string;
  key: string;
  store: AnyStore;
  kind: 'SecretStore' | 'ClusterSecretStore';
}

export function pushStores(ps: PushSecret, resolver: StoreResolver, stores: Informer<SecretStore>, clusterStores: Informer<ClusterSecretStore>): PushStore[] {
  const namespace = ps.metadata.namespace!;
  const out = new Map<string, PushStore>();
  for (const ref of ps.spec.secretStoreRefs) {
    const kind = ref.kind ?? 'SecretStore';
    let names: string[];
    if (ref.name) names = [ref.name];
    else {
      const candidates: AnyStore[] = kind === 'SecretStore' ? [...stores.values()].filter((s) => s.metadata.namespace === namespace) : [...clusterStores.values()];
      names = candidates.filter((s) => selectorMatches(ref.labelSelector!, s.metadata.labels ?? {})).map((s) => s.metadata.name);
    }
    for (const name of names) {
      // The ExternalSecret rules, through the one resolver.
      const probe = { metadata: { namespace, name: ps.metadata.name }, spec: { secretStoreRef: { name, kind } } } as ExternalSecret;
      const resolved = resolver.resolve(probe);
      out.set(`${kind}/${name}`, { name: `${kind}/${name}`, key: storeKey(resolved.id), store: resolved.store, kind });
    }
  }
  return [...out.values()];
}
