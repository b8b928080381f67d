// Validates SecretStores and ClusterSecretStores through their provider and
// reports Ready. A store that is not Ready stops its ExternalSecrets from
// calling the provider; they wait for it to become Ready again.
import type { Logger } from 'pino';
import type { AnyStore, ClusterSecretStore, SecretStore, StoreKind } from '../../api/types.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import { clean, readyCondition, statusChanged } from '../../kube/status.js';
import { API_VERSION, Resources } from '../../kube/types.js';
import { loadProvider, providerName } from '../../providers/registry.js';
import type { StoreClients } from '../../providers/store-clients.js';
import { TerminalError, type ReconcileResult } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import { errorMessage, shortMessage } from '../../util/errors.js';
import { conditionProblems } from './namespace-conditions.js';

export const StoreReason = {
  Valid: 'Valid',
  InvalidConfig: 'InvalidProviderConfig',
  ValidationFailed: 'ValidationFailed',
} as const;

/** Stores are checked again this often while Ready, so an outage shows up. */
const REVALIDATE_MS = 5 * 60_000;

export interface StoreDeps {
  kube: KubeClient;
  stores: Informer<SecretStore>;
  clusterStores: Informer<ClusterSecretStore>;
  storeClients: StoreClients;
  events: EventRecorder;
  log: Logger;
}

type StoreStatus = NonNullable<AnyStore['status']>;

/** Credential references a SecretStore may not point outside its namespace. */
function crossNamespaceRefs(node: unknown, path: string, own: string, out: string[]): void {
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'namespace' && typeof v === 'string' && v !== own && /Ref$/.test(path)) out.push(`${path}.namespace`);
    crossNamespaceRefs(v, path ? `${path}.${k}` : k, own, out);
  }
}

export class StoreReconciler {
  constructor(private readonly deps: StoreDeps) {}

  private lookup(key: string): { store: AnyStore; kind: StoreKind } | undefined {
    const [kind, ...rest] = key.split('/');
    if (kind === 'SecretStore') {
      const store = this.deps.stores.get(rest.join('/'));
      return store && { store, kind };
    }
    const store = this.deps.clusterStores.get(rest.join('/'));
    return store && { store, kind: 'ClusterSecretStore' };
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const found = this.lookup(key);
    if (!found) {
      await this.deps.storeClients.drop(key);
      return;
    }
    const { store, kind } = found;
    const name = providerName(store.spec.provider);
    const problems: string[] = [];
    if (!name) problems.push('spec.provider needs exactly one provider');
    if (kind === 'SecretStore') {
      const refs: string[] = [];
      crossNamespaceRefs(store.spec.provider, 'spec.provider', store.metadata.namespace!, refs);
      for (const ref of refs) problems.push(`${ref} points to another namespace; a SecretStore may only use its own namespace`);
    }
    problems.push(...conditionProblems(store.spec.conditions));
    let capabilities: StoreStatus['capabilities'];
    if (name && problems.length === 0) {
      try {
        const provider = await loadProvider(name);
        capabilities = provider.capabilities;
        problems.push(...provider.validateStore(store));
      } catch (err) {
        problems.push(errorMessage(err));
      }
    }
    if (problems.length > 0) {
      await this.setReady(store, kind, false, StoreReason.InvalidConfig, shortMessage(problems.join('; ')), capabilities);
      throw new TerminalError(`invalid store ${key}`);
    }
    try {
      const client = await this.deps.storeClients.get(store, kind);
      await client.validate();
    } catch (err) {
      await this.setReady(store, kind, false, StoreReason.ValidationFailed, shortMessage(`provider check failed: ${errorMessage(err)}`), capabilities);
      throw err;
    }
    await this.setReady(store, kind, true, StoreReason.Valid, 'store validated', capabilities);
    return { requeueAfterMs: REVALIDATE_MS };
  }

  private async setReady(store: AnyStore, kind: StoreKind, ready: boolean, reason: string, message: string, capabilities: StoreStatus['capabilities']): Promise<void> {
    const old = store.status?.conditions?.find((c) => c.type === 'Ready');
    const status: StoreStatus = {
      observedGeneration: store.metadata.generation,
      capabilities,
      provider: providerName(store.spec.provider),
      conditions: [readyCondition(store.status, ready, reason, message, store.metadata.generation, new Date())],
    };
    if (!statusChanged(store.status, status)) return;
    if (old?.status !== (ready ? 'True' : 'False') || old.reason !== reason) {
      this.deps.events.emit({ ...store, apiVersion: API_VERSION, kind }, ready ? 'Normal' : 'Warning', reason, message);
    }
    const type = kind === 'SecretStore' ? Resources.SecretStore : Resources.ClusterSecretStore;
    try {
      await this.deps.kube.patchStatus(type, store, clean(status));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }
}
