// Wires the operator together: informers feed two controllers (stores and
// ExternalSecrets) through their queues; indexes route Secret, store and
// namespace changes to the ExternalSecrets that depend on them.
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ClusterSecretStore, ExternalSecret, SecretStore } from './api/types.js';
import { ExternalSecretReconciler } from './controllers/externalsecret/reconciler.js';
import { MANAGED_LABEL, targetName } from './controllers/externalsecret/desired-secret.js';
import { StoreReconciler } from './controllers/store/reconciler.js';
import { StoreResolver, isStoreReady, storeKey, storeRefKey } from './controllers/store/store-resolver.js';
import { loadInstallationKey } from './installation-key.js';
import { KubeClient } from './kube/client.js';
import { EventRecorder } from './kube/events.js';
import { Resources, objectKey, type KubeObject } from './kube/types.js';
import { Metrics } from './metrics.js';
import { StoreClients } from './providers/store-clients.js';
import { ExponentialBackoff, RetryRateLimiter, TokenBucket } from './runtime/backoff.js';
import { Controller } from './runtime/controller.js';
import { ReverseIndex } from './runtime/index.js';
import { Informer, type InformerOptions } from './runtime/informer.js';
import { WorkQueue } from './runtime/workqueue.js';

const readyOf = (s: SecretStore | ClusterSecretStore) => [isStoreReady(s), s.status?.conditions?.find((c) => c.type === 'Ready')?.message];

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The operator's own namespace (holds the HMAC key Secret). */
  namespace: string;
  /** Reconcile only this namespace's ExternalSecrets and SecretStores. */
  watchNamespace?: string;
  workers?: number;
  sharedReadMaxAgeMs?: number;
  log: Logger;
  metrics?: Metrics;
  informer?: Pick<InformerOptions, 'relistIntervalMs' | 'watchTimeoutSeconds' | 'idleTimeoutMs'>;
}

export class Operator {
  readonly metrics: Metrics;
  readonly kube: KubeClient;
  private readonly log: Logger;
  private readonly externalSecrets: Informer<ExternalSecret>;
  private readonly secrets: Informer<KubeObject>;
  private readonly stores: Informer<SecretStore>;
  private readonly clusterStores: Informer<ClusterSecretStore>;
  private readonly namespaces: Informer<KubeObject>;
  private readonly esQueue = new WorkQueue();
  private readonly storeQueue = new WorkQueue();
  private readonly bySecret = new ReverseIndex();
  private readonly byStore = new ReverseIndex();
  private readonly storeClients: StoreClients;
  private controllers: Controller[] = [];
  private esReconciler?: ExternalSecretReconciler;
  private started = false;
  private stopping = false;

  constructor(private readonly opts: OperatorOptions) {
    this.log = opts.log;
    this.metrics = opts.metrics ?? new Metrics();
    this.kube = new KubeClient(opts.kubeConfig);
    const informerOpts = (kind: string): InformerOptions => ({
      ...opts.informer,
      log: this.log,
      onWatchRestart: (reason) => this.metrics.watchRestarts.inc({ kind, reason }),
    });
    const ns = opts.watchNamespace;
    this.externalSecrets = new Informer(this.kube, Resources.ExternalSecret, { ...informerOpts('ExternalSecret'), namespace: ns });
    this.secrets = new Informer(this.kube, Resources.Secret, {
      ...informerOpts('Secret'),
      namespace: ns,
      labelSelector: `${MANAGED_LABEL}=true`,
      metadataOnly: true,
    });
    this.stores = new Informer(this.kube, Resources.SecretStore, { ...informerOpts('SecretStore'), namespace: ns });
    this.clusterStores = new Informer(this.kube, Resources.ClusterSecretStore, informerOpts('ClusterSecretStore'));
    this.namespaces = new Informer(this.kube, Resources.Namespace, { ...informerOpts('Namespace'), metadataOnly: true });
    this.storeClients = new StoreClients(this.kube, this.metrics);
    this.wireEvents();
  }

  get isReady(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    const hmacKey = await loadInstallationKey(this.kube, this.opts.namespace);
    const events = new EventRecorder(this.kube, this.log);
    const resolver = new StoreResolver(this.stores, this.clusterStores, this.namespaces);
    const esReconciler = new ExternalSecretReconciler({
      kube: this.kube,
      externalSecrets: this.externalSecrets,
      secrets: this.secrets,
      stores: resolver,
      storeClients: this.storeClients,
      hmacKey,
      events,
      metrics: this.metrics,
      log: this.log,
      sharedReadMaxAgeMs: this.opts.sharedReadMaxAgeMs ?? 30_000,
    });
    this.esReconciler = esReconciler;
    const storeReconciler = new StoreReconciler({
      kube: this.kube,
      stores: this.stores,
      clusterStores: this.clusterStores,
      storeClients: this.storeClients,
      events,
      log: this.log,
    });
    // Caches first, so the first reconciles see the whole picture.
    await Promise.all([this.namespaces, this.stores, this.clusterStores, this.secrets, this.externalSecrets].map((i) => i.start()));
    if (this.stopping) return;
    this.controllers = [
      this.controller('store', this.storeQueue, 2, (key) => storeReconciler.reconcile(key)),
      this.controller('externalsecret', this.esQueue, this.opts.workers ?? 16, (key) => esReconciler.reconcile(key)),
    ];
    for (const c of this.controllers) c.start();
    this.started = true;
    this.log.info({ watchNamespace: this.opts.watchNamespace ?? '(all)' }, 'operator started');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    await Promise.all(this.controllers.map((c) => c.stop()));
    await Promise.all([this.externalSecrets, this.secrets, this.stores, this.clusterStores, this.namespaces].map((i) => i.stop()));
    await this.storeClients.closeAll();
    await this.kube.close();
    this.log.info('operator stopped');
  }

  private controller(name: string, queue: WorkQueue, workers: number, reconcile: (key: string) => Promise<unknown>): Controller {
    return new Controller({
      name,
      queue,
      workers,
      // 1 s doubling to 5 min per key; at most 10 retries/s (burst 100) overall.
      retry: new RetryRateLimiter(new ExponentialBackoff(1000, 5 * 60_000), new TokenBucket(10, 100)),
      reconcile: reconcile as (key: string) => Promise<void>,
      log: this.log,
      onOutcome: (outcome, ms) => {
        this.metrics.reconciles.inc({ controller: name, outcome });
        this.metrics.reconcileSeconds.observe({ controller: name }, ms / 1000);
        this.metrics.queueDepth.set({ controller: name }, queue.length);
      },
    });
  }

  private enqueueDependents(index: ReverseIndex, target: string): void {
    for (const key of index.ownersOf(target)) this.esQueue.add(key, 'urgent');
  }

  private wireEvents(): void {
    const track = (es: ExternalSecret) => {
      const key = objectKey(es);
      this.bySecret.set(key, `${es.metadata.namespace}/${targetName(es)}`);
      this.byStore.set(key, storeRefKey(es));
    };
    this.externalSecrets.addHandlers({
      onAdd: (es) => {
        track(es);
        this.esQueue.add(objectKey(es), 'urgent');
      },
      onUpdate: (before, es) => {
        track(es);
        // Our own status writes change nothing we act on.
        const changed =
          before.metadata.generation !== es.metadata.generation ||
          !isDeepStrictEqual(before.metadata.labels, es.metadata.labels) ||
          !isDeepStrictEqual(before.metadata.annotations, es.metadata.annotations) ||
          before.metadata.deletionTimestamp !== es.metadata.deletionTimestamp;
        if (changed) this.esQueue.add(objectKey(es), 'urgent');
      },
      onDelete: (es) => {
        const key = objectKey(es);
        void this.storeClients.release(storeRefKey(es), key);
        this.bySecret.remove(key);
        this.byStore.remove(key);
        this.esQueue.cancel(key);
        this.esReconciler?.forget(key);
      },
    });

    const secretChanged = (secret: KubeObject) => this.enqueueDependents(this.bySecret, objectKey(secret));
    this.secrets.addHandlers({ onAdd: secretChanged, onUpdate: (_, s) => secretChanged(s), onDelete: secretChanged });

    const storeHandlers = (kind: 'SecretStore' | 'ClusterSecretStore') => {
      const keyOf = (s: SecretStore | ClusterSecretStore) => storeKey(kind, s.metadata.name, s.metadata.namespace);
      return {
        onAdd: (s: SecretStore | ClusterSecretStore) => {
          this.storeQueue.add(keyOf(s));
          this.enqueueDependents(this.byStore, keyOf(s));
        },
        onUpdate: (before: SecretStore | ClusterSecretStore, s: SecretStore | ClusterSecretStore) => {
          const specChanged = before.metadata.generation !== s.metadata.generation;
          if (specChanged) this.storeQueue.add(keyOf(s));
          // Spec, readiness or access rules changed: dependents may now sync, or must stop.
          if (specChanged || !isDeepStrictEqual(readyOf(before), readyOf(s))) {
            this.enqueueDependents(this.byStore, keyOf(s));
          }
        },
        onDelete: (s: SecretStore | ClusterSecretStore) => {
          this.storeQueue.add(keyOf(s));
          this.enqueueDependents(this.byStore, keyOf(s));
        },
      };
    };
    this.stores.addHandlers(storeHandlers('SecretStore'));
    this.clusterStores.addHandlers(storeHandlers('ClusterSecretStore'));

    // Namespace labels decide ClusterSecretStore access.
    this.namespaces.addHandlers({
      onUpdate: (before, ns) => {
        if (isDeepStrictEqual(before.metadata.labels, ns.metadata.labels)) return;
        for (const es of this.externalSecrets.values()) {
          if (es.metadata.namespace === ns.metadata.name && es.spec.secretStoreRef.kind === 'ClusterSecretStore') {
            this.esQueue.add(objectKey(es), 'urgent');
          }
        }
      },
    });
  }
}
