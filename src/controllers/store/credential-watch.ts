// Follows the Secrets that stores read credentials from. A store's provider
// client caches what it logged in with, so without this a rotated or revoked
// credential would go unnoticed until the old one failed. Each referenced
// Secret gets a metadata-only watch of its own (a field selector on its
// name): the operator never watches, nor holds, unrelated Secrets. Any change
// after the watch's first list calls onChange for every store using it.
import type { StoreKey } from '../../api/store-id.js';
import type { KubeClient } from '../../kube/client.js';
import { Resources, type KubeObject } from '../../kube/types.js';
import { Informer, type InformerOptions } from '../../runtime/informer.js';
import { untilAborted } from '../../util/abort.js';
import type { Lifecycle } from '../../runtime/lifecycle.js';

const FIRST_LIST_WAIT_MS = 10_000;

interface Watch<K> {
  informer: Informer<KubeObject>;
  stores: Set<K>;
  started: Promise<void>;
}

/** Keyed by store (credentials) or by any other follower (a PushSecret and its source Secret). */
export class CredentialWatch<K extends string = StoreKey> implements Lifecycle {
  private readonly watches = new Map<string, Watch<K>>();
  private readonly byStore = new Map<K, Set<string>>();

  constructor(
    private readonly kube: KubeClient,
    private readonly informerOpts: Omit<InformerOptions, 'namespace' | 'fieldSelector' | 'metadataOnly'>,
    private readonly onChange: (store: K) => void,
  ) {}

  /** Follows exactly these Secrets ("namespace/name") for the store; resolves once each is being watched. */
  async track(store: K, secrets: string[]): Promise<void> {
    const wanted = new Set(secrets);
    for (const secret of this.byStore.get(store) ?? []) if (!wanted.has(secret)) this.unwatch(store, secret);
    if (wanted.size === 0) this.byStore.delete(store);
    else this.byStore.set(store, wanted);
    // A watch that cannot list (RBAC, API down) keeps retrying on its own; the store goes on meanwhile.
    const watching = Promise.all([...wanted].map((secret) => this.watch(store, secret)));
    await untilAborted(watching, AbortSignal.timeout(FIRST_LIST_WAIT_MS)).catch(() => undefined);
  }

  untrack(store: K): Promise<void> {
    return this.track(store, []);
  }

  async stop(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    this.byStore.clear();
    await Promise.all(all.map((w) => w.informer.stop()));
  }

  private watch(store: K, secret: string): Promise<void> {
    let watch = this.watches.get(secret);
    if (!watch) {
      const slash = secret.indexOf('/');
      const informer = new Informer<KubeObject>(this.kube, Resources.Secret, {
        ...this.informerOpts,
        namespace: secret.slice(0, slash),
        fieldSelector: `metadata.name=${secret.slice(slash + 1)}`,
        metadataOnly: true,
      });
      const created: Watch<K> = { informer, stores: new Set(), started: Promise.resolve() };
      // Handlers go on after the first list: what it finds is the baseline the client was built from.
      created.started = informer.start().then(() => {
        const changed = () => {
          for (const s of created.stores) this.onChange(s);
        };
        informer.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
      });
      this.watches.set(secret, (watch = created));
    }
    watch.stores.add(store);
    return watch.started;
  }

  private unwatch(store: K, secret: string): void {
    const watch = this.watches.get(secret);
    if (!watch) return;
    watch.stores.delete(store);
    if (watch.stores.size > 0) return;
    this.watches.delete(secret);
    void watch.informer.stop();
  }
}
