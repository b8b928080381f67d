// Whether a store may be used: Ready, for the generation it has now.
import type { AnyStore } from '../api/types.js';
import { findReady } from '../kube/status.js';

export function isStoreReady(store: AnyStore): boolean {
  return findReady(store.status)?.status === 'True' && store.status?.observedGeneration === store.metadata.generation;
}
