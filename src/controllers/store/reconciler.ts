// Validates SecretStores and ClusterSecretStores through their provider and
// reports Ready. A store that is not Ready stops its ExternalSecrets from
// calling the provider; they wait for it to become Ready again. The Secrets a
// store takes credentials from are watched: a change renews its client and
// validates it again.
import type { Logger } from 'pino';
import { StoreReason } from '../../api/reasons.js';
import { parseStoreKey, type StoreId } from '../../api/store-id.js';
import type { AnyStore, ClusterSecretStore, SecretStore } from '../../api/types.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import { clean, findReady, readyCondition, statusChanged } from '../../kube/status.js';
import { API_VERSION, Resources } from '../../kube/types.js';
import { credentialSecrets } from '../../providers/credentials.js';
import { providerName } from '../../providers/registry.js';
import type { StoreClients } from '../../providers/store-clients.js';
import { TerminalError, type ReconcileContext, type ReconcileResult } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import { storeProblems } from '../../validation/semantic.js';
import { errorMessage, shortMessage } from '../../util/errors.js';
import { withJitter } from '../../runtime/backoff.js';
import type { CredentialWatch } from './credential-watch.js';
import { isStoreReady } from '../../secrets/store-ready.js';

/** Stores are checked again this often while Ready, so an outage shows up. */
const REVALIDATE_MS = 5 * 60_000;

export interface StoreDeps {
  kube: KubeClient;
  stores: Informer<SecretStore>;
  clusterStores: Informer<ClusterSecretStore>;
  storeClients: StoreClients;
  credentials: CredentialWatch;
  events: EventRecorder;
  log: Logger;
}

type StoreStatus = NonNullable<AnyStore['status']>;

export class StoreReconciler {
  /** Stores seen since this process started. */
  private readonly checked = new Set<string>();

  constructor(private readonly deps: StoreDeps) {}

  private lookup(id: StoreId | undefined): AnyStore | undefined {
    if (!id) return undefined;
    return id.kind === 'SecretStore' ? this.deps.stores.get(`${id.namespace}/${id.name}`) : this.deps.clusterStores.get(id.name);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const id = parseStoreKey(key);
    const store = this.lookup(id);
    if (!id || !store) {
      this.checked.delete(key);
      await this.deps.credentials.untrack(key);
      await this.deps.storeClients.drop(key);
      return;
    }
    const { problems, provider } = await storeProblems(store, (name) => this.deps.storeClients.provider(name));
    const capabilities: StoreStatus['capabilities'] = provider?.capabilities;
    if (problems.length > 0) {
      await this.deps.credentials.untrack(key);
      await this.setReady(store, id, false, StoreReason.InvalidConfig, shortMessage(problems.join('; ')), capabilities);
      throw new TerminalError(`invalid store ${key}`);
    }
    // Watch the credential Secrets before the client reads them, so no change falls in between.
    await this.deps.credentials.track(key, credentialSecrets(store));
    // After a restart, a store that was validated at this generation stays Ready until its next
    // periodic check: a restart costs no provider call. A change to its credentials validates at once.
    if (!this.checked.has(key) && isStoreReady(store)) {
      this.checked.add(key);
      return { requeueAfterMs: withJitter(REVALIDATE_MS, 0.2) };
    }
    this.checked.add(key);
    try {
      const client = await this.deps.storeClients.get(store, id.kind);
      await client.validate({ signal: ctx.signal, log: ctx.log, consumer: '' });
    } catch (err) {
      await this.setReady(store, id, false, StoreReason.ValidationFailed, shortMessage(`provider check failed: ${errorMessage(err)}`), capabilities);
      throw err;
    }
    await this.setReady(store, id, true, StoreReason.Valid, 'store validated', capabilities);
    return { requeueAfterMs: REVALIDATE_MS };
  }

  private async setReady(store: AnyStore, id: StoreId, ready: boolean, reason: string, message: string, capabilities: StoreStatus['capabilities']): Promise<void> {
    const old = findReady(store.status);
    const status: StoreStatus = {
      observedGeneration: store.metadata.generation,
      capabilities,
      provider: providerName(store.spec.provider),
      conditions: [readyCondition(store.status, ready, reason, message, store.metadata.generation, new Date())],
    };
    if (!statusChanged(store.status, status)) return;
    if (old?.status !== (ready ? 'True' : 'False') || old.reason !== reason) {
      this.deps.events.emit({ ...store, apiVersion: API_VERSION, kind: id.kind }, ready ? 'Normal' : 'Warning', reason, message);
    }
    const type = id.kind === 'SecretStore' ? Resources.SecretStore : Resources.ClusterSecretStore;
    try {
      await this.deps.kube.patchStatus(type, store, clean(status));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }
}
