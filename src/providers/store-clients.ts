// Store key to its client: one StoreClient (store-client.ts) per store,
// made on first use (after the host policy and with the connect-time guard
// for a namespaced store) and replaced after any spec or credential change.
import { storeIdOf, storeKey, type StoreKey } from '../api/store-id.js';
import type { AnyStore, ProviderName, StoreKind } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import type { Metrics } from '../runtime/metrics.js';
import type { Provider, ProviderOptions } from './provider.js';
import { ConnectGuard } from './connect-guard.js';
import { checkStoreHosts, type HostPolicy, type Resolve } from './host-policy.js';
import { loadProvider, providerName, type ProviderOverrides } from './registry.js';
import { StoreSeats } from './store-seats.js';
import { StoreClient, type CallOptions } from './store-client.js';

interface Entry {
  uid: string;
  generation: number;
  client: Promise<StoreClient>;
}

export interface StoreClientsOptions {
  /** Deadline of one provider call. */
  callTimeoutMs: number;
  /** Providers to use instead of the registry's (tests). */
  providers?: ProviderOverrides;
  /** The operator's choices for providers' clients (ClientContext.options). */
  providerOptions?: ProviderOptions;
  /** Address ranges namespaced stores may not point the operator at. */
  hostPolicy?: HostPolicy;
  /** How the connect-time guard resolves names (tests; dns.lookup otherwise). */
  resolve?: Resolve;
  /** Seats for ExternalSecret syncs (store-seats.ts); without it, syncs wait on a store however slow. */
  seats?: {
    slowMs: number;
    /** Used for a store without spec.slowCalls.maxWaiting. */
    defaultMaxWaiting: number;
    /** Seats holding a worker a held-back store may have. */
    maxHolding: number;
    /** Queues an ExternalSecret that was turned away. */
    wake: (consumer: string) => void;
  };
}

/** Store key to its client. */
export class StoreClients {
  private readonly entries = new Map<StoreKey, Entry>();

  constructor(
    private readonly kube: KubeClient,
    private readonly metrics: Metrics,
    private readonly opts: StoreClientsOptions,
  ) {}

  /** The client for this store, created on first use and after any spec change or invalidate(). */
  get(store: AnyStore, kind: StoreKind): Promise<StoreClient> {
    const key = storeKey(storeIdOf(store, kind));
    const uid = store.metadata.uid ?? '';
    const generation = store.metadata.generation ?? 0;
    const existing = this.entries.get(key);
    if (existing && existing.uid === uid && existing.generation === generation) return existing.client;
    if (existing) void this.closeEntry(existing);
    const client = this.create(store, key);
    const entry = { uid, generation, client };
    this.entries.set(key, entry);
    client.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return client;
  }

  /** An ExternalSecret is gone: its store's client gives back what it held for it. */
  async release(key: StoreKey, opts: CallOptions): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    try {
      await (await entry.client).release(opts);
    } catch {
      // Best effort: what is not released expires on the provider's own clock.
    }
  }

  /** Forgets the store's client (its spec or credentials changed, or it is gone); the next get() makes a new one. */
  async drop(key: StoreKey): Promise<void> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    if (entry) await this.closeEntry(entry);
  }

  /** The provider module for a name (the injected one, if any). */
  provider(name: ProviderName): Promise<Provider> {
    return loadProvider(name, this.opts.providers);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.closeEntry(e)));
  }

  private async create(store: AnyStore, key: StoreKey): Promise<StoreClient> {
    const name = providerName(store.spec.provider);
    if (!name) throw new Error('store needs exactly one provider');
    const provider = await this.provider(name);
    const { hostPolicy, resolve } = this.opts;
    await checkStoreHosts(store, hostPolicy, resolve);
    // ClusterSecretStores are the platform team's: only a namespaced store's endpoint is guarded.
    const connectGuard = hostPolicy && store.metadata.namespace ? new ConnectGuard(hostPolicy, 'namespaced SecretStores', resolve) : undefined;
    const client = await provider.newClient({ store, namespace: store.metadata.namespace ?? '', kube: this.kube, connectGuard, options: this.opts.providerOptions });
    return new StoreClient(name, key, client, this.metrics, store.spec.rateLimit, this.opts.callTimeoutMs, this.seatsFor(store, key));
  }

  private seatsFor(store: AnyStore, key: StoreKey): StoreSeats | undefined {
    const seats = this.opts.seats;
    if (!seats) return undefined;
    const { storeHeldBack, storeSlowWaiting, storeTurnedAway } = this.metrics;
    return new StoreSeats(key, {
      slowMs: seats.slowMs,
      maxWaiting: store.spec.slowCalls?.maxWaiting ?? seats.defaultMaxWaiting,
      maxHolding: seats.maxHolding,
      wake: seats.wake,
      onChange: ({ heldBack, slow }) => {
        storeHeldBack.set({ store: key }, heldBack ? 1 : 0);
        storeSlowWaiting.set({ store: key }, slow);
      },
      onTurnedAway: () => storeTurnedAway.inc({ store: key }),
    });
  }

  private async closeEntry(entry: Entry): Promise<void> {
    try {
      await (await entry.client).close();
    } catch {
      // A client that failed to start has nothing to close.
    }
  }
}
