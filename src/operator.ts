// Wires the operator together: informers feed two controllers (stores and
// ExternalSecrets) through their queues; indexes route Secret, store and
// namespace changes to the ExternalSecrets that depend on them.
import { createSecretKey } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { MANAGED_LABEL } from './api/names.js';
import { storeIdFor, storeIdOf, storeKey } from './api/store-id.js';
import type { ClusterExternalSecret, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore, StoreKind } from './api/types.js';
import { PushSecretReconciler } from './controllers/pushsecret/reconciler.js';
import { CLUSTER_EXTERNAL_SECRET_LABEL, ClusterExternalSecretReconciler } from './controllers/clusterexternalsecret/reconciler.js';
import { targetName } from './secrets/desired-secret.js';
import { ExternalSecretReconciler } from './controllers/externalsecret/reconciler.js';
import { StoreResolver } from './secrets/store-resolver.js';
import { WorkloadRestarts } from './controllers/externalsecret/workload-restarts.js';
import { AwsSqsEvents } from './refresh-events/aws-sqs.js';
import { AzureEventGrid, vaultNameOf, type AzureEventGridOptions } from './refresh-events/azure-eventgrid.js';
import { GcpPubSubEvents } from './refresh-events/gcp-pubsub.js';
import { StorePollers } from './refresh-events/store-pollers.js';
import { RefreshEvents } from './refresh-events/refresh-events.js';
import { RefreshWebhook, type WebhookOptions } from './refresh-events/webhook.js';
import { CredentialWatch } from './controllers/store/credential-watch.js';
import { StoreReconciler } from './controllers/store/reconciler.js';
import { isStoreReady } from './secrets/store-ready.js';
import { loadInstallationKey } from './installation-key.js';
import { KubeApiError, KubeClient } from './kube/client.js';
import { EventRecorder } from './kube/events.js';
import { findReady } from './kube/status.js';
import { Resources, objectKey, type KubeObject } from './kube/types.js';
import { Metrics } from './runtime/metrics.js';
import type { HostPolicy, Resolve } from './providers/host-policy.js';
import type { ProviderOverrides } from './providers/registry.js';
import { StoreClients } from './providers/store-clients.js';
import { ExponentialBackoff, RetryRateLimiter } from './runtime/backoff.js';
import { TokenBucket } from './util/token-bucket.js';
import { unservedResources } from './kube/served-resources.js';
import { Controller, type Reconcile } from './runtime/controller.js';
import { Informer, type InformerOptions } from './runtime/informer.js';
import { LeaderElector, type LeaderElectionOptions } from './runtime/leader-election.js';
import { ReverseIndex } from './runtime/reverse-index.js';
import { WorkQueue } from './runtime/workqueue.js';

const DEFAULT_WORKERS = 16;
const readyOf = (s: SecretStore | ClusterSecretStore) => [isStoreReady(s), findReady(s.status)?.message];

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The operator's own namespace (holds the HMAC key Secret). */
  namespace: string;
  /** Reconcile only this namespace's ExternalSecrets and SecretStores. */
  watchNamespace?: string;
  /** Watch ClusterSecretStores and Namespaces (cluster-wide reads); off for a namespace-scoped installation. */
  clusterSecretStores?: boolean;
  workers?: number;
  sharedReadMaxAgeMs?: number;
  /** Deadline of one provider call (default 30 s). */
  providerTimeoutMs?: number;
  /** A sync waiting on its store's calls this long gives its worker back (store-seats.ts); default 500 ms. */
  slowCallMs?: number;
  /** Address ranges namespaced SecretStores may not point the operator at (SSRF guard); none when unset. */
  storeHostPolicy?: HostPolicy;
  /** How the host policy resolves store endpoints (tests; dns.lookup otherwise). */
  storeHostResolve?: Resolve;
  /** Providers that replace the registered ones (tests inject programmable providers). */
  providers?: ProviderOverrides;
  log: Logger;
  metrics?: Metrics;
  informer?: Pick<InformerOptions, 'relistIntervalMs' | 'watchTimeoutSeconds' | 'idleTimeoutMs'>;
  /** Reconcile only while holding this Lease; caches stay warm meanwhile. Without it, reconcile at once. */
  leaderElection?: Omit<LeaderElectionOptions, 'log' | 'onStartedLeading' | 'onStoppedLeading'>;
  /** The Lease was lost (not renewed within the renew deadline): the operator has stopped itself. */
  onLeadershipLost?: () => void;
  /** Restart workloads when a Secret's data changes (needs RBAC to list and patch them); off when unset. */
  rolloutRestart?: { debounceMs: number };
  /** Refresh on provider change events (collected for windowMs): stores' SQS queues and Pub/Sub subscriptions, and the webhook when set; off when unset. */
  refreshEvents?: { windowMs: number; webhook?: Omit<WebhookOptions, 'isLeader' | 'azureEventGrid'>; azureEventGrid?: AzureEventGridOptions };
  /**
   * This Pod (in `namespace`) carries the label secretsync.dev/leader: "true"
   * while it leads, so a Service can send the refresh webhook to the leader.
   */
  leaderLabelPod?: string;
  /** The first wait before a Secret External Secrets Operator wrote back is taken over again (doubling up to 5 min); 5 s when unset. */
  esoRetakeBaseMs?: number;
}

export const LEADER_LABEL = 'secretsync.dev/leader';

export class Operator {
  readonly metrics: Metrics;
  readonly kube: KubeClient;
  private readonly log: Logger;
  private readonly externalSecrets: Informer<ExternalSecret>;
  private readonly secrets: Informer<KubeObject>;
  private readonly stores: Informer<SecretStore>;
  private readonly clusterStores: Informer<ClusterSecretStore>;
  private readonly namespaces: Informer<KubeObject>;
  /** ClusterExternalSecrets: only for a cluster-wide installation (they stamp ExternalSecrets into any namespace). */
  private readonly clusterExternalSecrets?: Informer<ClusterExternalSecret>;
  private readonly cesQueue = new WorkQueue();
  private readonly pushSecrets: Informer<PushSecret>;
  private readonly pushQueue = new WorkQueue();
  /** Each PushSecret's source Secret, watched by name (metadata only): a change is pushed at once. */
  private readonly pushSources: CredentialWatch<string>;
  /** Namespaces take turns, and the stores within each (fair-lane.ts). */
  private readonly esQueue = new WorkQueue((key) => this.byStore.targetOf(key) ?? '');
  private readonly storeQueue = new WorkQueue();
  private readonly bySecret = new ReverseIndex();
  private readonly byStore = new ReverseIndex();
  private readonly storeClients: StoreClients;
  private readonly credentials: CredentialWatch;
  private controllers: Controller[] = [];
  private elector?: LeaderElector;
  private esReconciler?: ExternalSecretReconciler;
  private restarts?: WorkloadRestarts;
  private readonly refreshEvents?: RefreshEvents;
  /** Pulled event sources, per store: AWS SQS queues and Google Pub/Sub subscriptions. */
  private readonly pollers: StorePollers[] = [];
  private webhook?: RefreshWebhook;
  private leading = false;
  /** The port the refresh webhook listens on (when it does). */
  webhookPort?: number;
  private started = false;
  private stopping = false;
  private stopped?: Promise<void>;

  constructor(private readonly opts: OperatorOptions) {
    this.log = opts.log;
    this.metrics = opts.metrics ?? new Metrics();
    this.kube = new KubeClient(opts.kubeConfig, (verb, resource, code) => this.metrics.kubeRequests.inc({ verb, resource, code: String(code) }));
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
      // Who manages each Secret: a Secret we created needs its ownership made an Apply before the first apply.
      keepManagers: true,
    });
    this.stores = new Informer(this.kube, Resources.SecretStore, { ...informerOpts('SecretStore'), namespace: ns });
    this.clusterStores = new Informer(this.kube, Resources.ClusterSecretStore, informerOpts('ClusterSecretStore'));
    this.namespaces = new Informer(this.kube, Resources.Namespace, { ...informerOpts('Namespace'), metadataOnly: true });
    if (ns === undefined && opts.clusterSecretStores !== false) {
      this.clusterExternalSecrets = new Informer(this.kube, Resources.ClusterExternalSecret, informerOpts('ClusterExternalSecret'));
    }
    this.pushSecrets = new Informer(this.kube, Resources.PushSecret, { ...informerOpts('PushSecret'), namespace: ns });
    this.pushSources = new CredentialWatch<string>(this.kube, informerOpts('PushSource'), (key) => this.pushQueue.add(key));
    this.storeClients = new StoreClients(this.kube, this.metrics, {
      callTimeoutMs: opts.providerTimeoutMs ?? 30_000,
      providers: opts.providers,
      hostPolicy: opts.storeHostPolicy,
      resolve: opts.storeHostResolve,
      seats: {
        slowMs: opts.slowCallMs ?? 500,
        defaultMaxWaiting: opts.workers ?? DEFAULT_WORKERS,
        maxHolding: Math.max(1, Math.ceil((opts.workers ?? DEFAULT_WORKERS) / 4)),
        wake: (key) => this.esQueue.add(key, 'routine'),
      },
    });
    // A changed credential Secret: the store's client (and its cached login) goes, and the store is checked again.
    this.credentials = new CredentialWatch(this.kube, informerOpts('CredentialSecret'), (store) => {
      this.log.info({ store }, 'a credential Secret of the store changed; renewing its client');
      void this.storeClients.drop(store);
      this.storeQueue.add(store);
    });
    if (opts.refreshEvents) {
      this.refreshEvents = new RefreshEvents({
        metrics: this.metrics,
        log: this.log,
        windowMs: opts.refreshEvents.windowMs,
        refresh: (keys, since) => {
          for (const key of keys) {
            this.esReconciler?.remoteChanged(key, since);
            this.esQueue.add(key, 'urgent');
          }
        },
      });
      this.pollers.push(new StorePollers(new AwsSqsEvents(this.kube, this.refreshEvents, this.log)));
      this.pollers.push(new StorePollers(new GcpPubSubEvents(this.kube, this.refreshEvents, this.log)));
    }
    this.wireEvents();
    const externalSecrets = this.externalSecrets;
    this.metrics.countReadyFrom(function* () {
      for (const es of externalSecrets.values()) yield findReady(es.status);
    });
  }

  get isReady(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    const hmacKey = createSecretKey(await this.whileApiServerAway(() => loadInstallationKey(this.kube, this.opts.namespace)));
    const events = new EventRecorder(this.kube, this.log, () => this.metrics.eventsDropped.inc());
    const clusterStores = this.opts.clusterSecretStores !== false;
    const resolver = new StoreResolver(this.stores, this.clusterStores, this.namespaces, clusterStores);
    const restartOpts = this.opts.rolloutRestart;
    const restarts = restartOpts ? new WorkloadRestarts({
      kube: this.kube,
      events,
      hmacKey,
      log: this.log,
      debounceMs: restartOpts.debounceMs,
      onOutcome: (key, outcome) => {
        esReconciler.restartOutcome(key, outcome);
        this.esQueue.add(key);
      },
    }) : undefined;
    this.restarts = restarts;
    const esReconciler: ExternalSecretReconciler = new ExternalSecretReconciler({
      kube: this.kube,
      externalSecrets: this.externalSecrets,
      secrets: this.secrets,
      stores: resolver,
      storeClients: this.storeClients,
      hmacKey,
      events,
      metrics: this.metrics,
      sharedReadMaxAgeMs: this.opts.sharedReadMaxAgeMs ?? 30_000,
      dependentsOf: (store) => this.byStore.ownersOf(store),
      secretChanged: (secret) => this.enqueueDependents(this.bySecret, secret),
      restarts,
      hostPolicy: this.opts.storeHostPolicy,
      esoRetakeBaseMs: this.opts.esoRetakeBaseMs,
    });
    this.esReconciler = esReconciler;
    const storeReconciler = new StoreReconciler({
      kube: this.kube,
      stores: this.stores,
      clusterStores: this.clusterStores,
      storeClients: this.storeClients,
      credentials: this.credentials,
      events,
      log: this.log,
    });
    const cesReconciler = this.clusterExternalSecrets
      ? new ClusterExternalSecretReconciler({ kube: this.kube, clusterExternalSecrets: this.clusterExternalSecrets, externalSecrets: this.externalSecrets, namespaces: this.namespaces, events })
      : undefined;
    const pushReconciler = new PushSecretReconciler({
      kube: this.kube,
      pushSecrets: this.pushSecrets,
      stores: resolver,
      secretStores: this.stores,
      clusterStores: this.clusterStores,
      storeClients: this.storeClients,
      hmacKey,
      events,
      watchSource: (key, secret) => this.pushSources.track(key, secret ? [secret] : []),
      hostPolicy: this.opts.storeHostPolicy,
    });
    // Caches first, so the first reconciles see the whole picture.
    const informers = clusterStores ? [this.namespaces, this.stores, this.clusterStores, this.secrets, this.externalSecrets] : [this.stores, this.secrets, this.externalSecrets];
    informers.push(this.pushSecrets);
    if (this.clusterExternalSecrets) informers.push(this.clusterExternalSecrets);
    const unserved = await this.whileApiServerAway(() => unservedResources(this.kube, informers.map((i) => i.type)));
    if (unserved.length > 0) {
      throw new Error(`the API server does not serve ${unserved.join(', ')}: install secretsync's CRDs first (kubectl apply --server-side -k crds/, or the chart's crds/)`);
    }
    await Promise.all(informers.map((i) => i.start()));
    if (this.stopping) return;
    // A Pod that restarted after losing the Lease may still carry the label.
    await this.labelLeader(false);
    const webhook = this.opts.refreshEvents?.webhook;
    if (this.refreshEvents && webhook) {
      const azure = this.opts.refreshEvents?.azureEventGrid;
      const azureEventGrid = azure ? new AzureEventGrid(azure, this.refreshEvents, (vault) => this.storesOfVault(vault)) : undefined;
      this.webhook = new RefreshWebhook(this.kube, this.refreshEvents, this.log, { ...webhook, isLeader: () => this.leading, azureEventGrid });
      this.webhookPort = await this.webhook.start();
    }
    const startControllers = () => {
      this.controllers = [
        this.controller('store', this.storeQueue, 2, (key, ctx) => storeReconciler.reconcile(key, ctx)),
        this.controller('externalsecret', this.esQueue, this.opts.workers ?? DEFAULT_WORKERS, (key, ctx) => esReconciler.reconcile(key, ctx)),
      ];
      this.controllers.push(this.controller('pushsecret', this.pushQueue, 4, (key, ctx) => pushReconciler.reconcile(key, ctx)));
      if (cesReconciler) this.controllers.push(this.controller('clusterexternalsecret', this.cesQueue, 2, (key, ctx) => cesReconciler.reconcile(key, ctx)));
      for (const c of this.controllers) c.start();
      this.leading = true;
      this.metrics.leader.set(1);
      void this.labelLeader(true);
      for (const p of this.pollers) p.setLeading(true);
    };
    const election = this.opts.leaderElection;
    if (election) {
      // Followers keep their caches (and queues) filled; the leader works through them on taking over.
      this.elector = new LeaderElector(this.kube, {
        ...election,
        log: this.log,
        onStartedLeading: () => {
          if (!this.stopping) startControllers();
        },
        onStoppedLeading: () => {
          this.leading = false;
          for (const p of this.pollers) p.setLeading(false);
          this.metrics.leader.set(0);
          void this.stop().finally(() => this.opts.onLeadershipLost?.());
        },
      });
      this.metrics.leader.set(0);
      this.elector.start();
    } else {
      startControllers();
    }
    this.started = true;
    this.log.info({ watchNamespace: this.opts.watchNamespace ?? '(all)', leaderElection: election ? `${election.namespace}/${election.name}` : 'off' }, 'operator started');
  }

  /**
   * Runs a start-up request again while the API server cannot be reached or
   * answers 5xx/429 (a restart, a rollout of the control plane), instead of
   * exiting into a crash loop; a refusal (403, 404, ...) fails at once.
   */
  private async whileApiServerAway<T>(request: () => Promise<T>): Promise<T> {
    for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        return await request();
      } catch (err) {
        const status = err instanceof KubeApiError ? err.status : undefined;
        if (this.stopping || (status !== undefined && status < 500 && status !== 429)) throw err;
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'API server not answering at start; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Stops once; later calls wait for the same stop. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.leading) await this.labelLeader(false);
    this.leading = false;
    await this.webhook?.stop();
    for (const p of this.pollers) p.stop();
    this.refreshEvents?.stop();
    await Promise.all(this.controllers.map((c) => c.stop()));
    // Restarts still waiting for their window go out now: the next leader cannot know of them.
    await this.restarts?.stop();
    // Work in flight is done or aborted: hand the Lease over before closing the connections.
    await this.elector?.stop();
    this.metrics.leader.set(0);
    await Promise.all([this.externalSecrets, this.secrets, this.stores, this.clusterStores, this.namespaces, this.clusterExternalSecrets, this.pushSecrets].flatMap((i) => (i ? [i.stop()] : [])));
    await this.credentials.stop();
    await this.pushSources.stop();
    await this.storeClients.closeAll();
    await this.kube.close();
    this.log.info('operator stopped');
  }

  private controller(name: string, queue: WorkQueue, workers: number, reconcile: Reconcile): Controller {
    return new Controller({
      name,
      queue,
      workers,
      // 1 s doubling to 5 min per key; at most 10 retries/s (burst 100) overall.
      retry: new RetryRateLimiter(new ExponentialBackoff(1000, 5 * 60_000), new TokenBucket(10, 100)),
      reconcile,
      log: this.log,
      onOutcome: (outcome, ms) => {
        this.metrics.reconciles.inc({ controller: name, outcome });
        this.metrics.reconcileSeconds.observe({ controller: name }, ms / 1000);
        this.metrics.queueDepth.set({ controller: name }, queue.length);
      },
    });
  }

  /** The Azure Key Vault stores whose vault has this name. */
  private storesOfVault(vault: string): string[] {
    const name = vault.toLowerCase();
    const matches = (s: SecretStore | ClusterSecretStore) => s.spec.provider.azurekv !== undefined && vaultNameOf(s.spec.provider.azurekv.vaultUrl) === name;
    return [
      ...[...this.stores.values()].filter(matches).map((s) => storeKey(storeIdOf(s, 'SecretStore'))),
      ...[...this.clusterStores.values()].filter(matches).map((s) => storeKey(storeIdOf(s, 'ClusterSecretStore'))),
    ];
  }

  private async labelLeader(leading: boolean): Promise<void> {
    const pod = this.opts.leaderLabelPod;
    if (!pod) return;
    try {
      await this.kube.mergePatch(Resources.Pod, this.opts.namespace, pod, { metadata: { labels: { [LEADER_LABEL]: leading ? 'true' : null } } });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, pod }, 'could not label this Pod as the leader; the refresh webhook Service may send events to a follower, which answers 503');
    }
  }

  private enqueueDependents(index: ReverseIndex, target: string): void {
    for (const key of index.ownersOf(target)) this.esQueue.add(key, 'urgent');
  }

  private wireEvents(): void {
    const track = (es: ExternalSecret) => {
      const key = objectKey(es);
      this.bySecret.set(key, `${es.metadata.namespace}/${targetName(es)}`);
      const store = storeIdFor(es);
      if (store) this.byStore.set(key, storeKey(store));
      else this.byStore.remove(key);
      this.refreshEvents?.index.set(es);
    };
    // A ClusterExternalSecret's own ExternalSecrets changed or went: it puts them back in step.
    const cesOf = (es: ExternalSecret) => {
      const owner = es.metadata.labels?.[CLUSTER_EXTERNAL_SECRET_LABEL];
      if (owner && this.clusterExternalSecrets) this.cesQueue.add(owner);
    };
    this.externalSecrets.addHandlers({
      onAdd: (es) => {
        track(es);
        this.esQueue.add(objectKey(es), 'urgent');
      },
      onUpdate: (before, es) => {
        track(es);
        this.esReconciler?.cacheUpdated(objectKey(es), es.metadata.resourceVersion);
        // Our own status writes change nothing we act on.
        const changed =
          before.metadata.generation !== es.metadata.generation ||
          !isDeepStrictEqual(before.metadata.labels, es.metadata.labels) ||
          !isDeepStrictEqual(before.metadata.annotations, es.metadata.annotations) ||
          before.metadata.deletionTimestamp !== es.metadata.deletionTimestamp;
        if (changed) this.esQueue.add(objectKey(es), 'urgent');
        if (before.metadata.generation !== es.metadata.generation || !isDeepStrictEqual(before.metadata.labels, es.metadata.labels)) cesOf(es);
      },
      onDelete: (es) => {
        cesOf(es);
        const key = objectKey(es);
        const store = storeIdFor(es);
        if (store) void this.storeClients.release(storeKey(store), { consumer: key, log: this.log, signal: AbortSignal.timeout(30_000) });
        this.bySecret.remove(key);
        this.byStore.remove(key);
        this.refreshEvents?.index.remove(key);
        this.esQueue.cancel(key);
        this.esReconciler?.forget(key);
      },
    });

    const secretChanged = (secret: KubeObject) => this.enqueueDependents(this.bySecret, objectKey(secret));
    // Our own write coming back through the watch: its one ExternalSecret has nothing left to do
    // (a new ExternalSecret was reconciled twice, the second time only to find that out).
    const secretWritten = (secret: KubeObject) => {
      const key = objectKey(secret);
      if (this.esReconciler?.isOurWrite(key, secret.metadata.resourceVersion) && this.bySecret.ownerCount(key) === 1) return;
      this.enqueueDependents(this.bySecret, key);
    };
    this.secrets.addHandlers({
      onAdd: secretWritten,
      onUpdate: (_, s) => secretWritten(s),
      onDelete: (s) => {
        this.esReconciler?.forgetSecret(objectKey(s));
        secretChanged(s);
      },
    });

    const storeHandlers = (kind: StoreKind) => {
      const keyOf = (s: SecretStore | ClusterSecretStore) => storeKey(storeIdOf(s, kind));
      return {
        onAdd: (s: SecretStore | ClusterSecretStore) => {
          for (const p of this.pollers) p.storeChanged(keyOf(s), s);
          this.storeQueue.add(keyOf(s));
          this.enqueueDependents(this.byStore, keyOf(s));
        },
        onUpdate: (before: SecretStore | ClusterSecretStore, s: SecretStore | ClusterSecretStore) => {
          const specChanged = before.metadata.generation !== s.metadata.generation;
          if (specChanged) this.storeQueue.add(keyOf(s));
          if (specChanged) for (const p of this.pollers) p.storeChanged(keyOf(s), s);
          // Spec, readiness or access rules changed: dependents may now sync, or must stop.
          if (specChanged || !isDeepStrictEqual(readyOf(before), readyOf(s))) {
            this.enqueueDependents(this.byStore, keyOf(s));
            // PushSecrets are few, and may name stores by label: each looks again.
            for (const ps of this.pushSecrets.values()) this.pushQueue.add(objectKey(ps));
          }
        },
        onDelete: (s: SecretStore | ClusterSecretStore) => {
          for (const p of this.pollers) p.storeChanged(keyOf(s), undefined);
          this.storeQueue.add(keyOf(s));
          this.enqueueDependents(this.byStore, keyOf(s));
        },
      };
    };
    this.pushSecrets.addHandlers({
      onAdd: (ps) => this.pushQueue.add(objectKey(ps), 'urgent'),
      onUpdate: (before, ps) => {
        // Spec, deletion, finalizers, or annotations (the ESO adoption switch); not our own status writes.
        const changed = before.metadata.generation !== ps.metadata.generation || before.metadata.deletionTimestamp !== ps.metadata.deletionTimestamp
          || !isDeepStrictEqual(before.metadata.finalizers, ps.metadata.finalizers) || !isDeepStrictEqual(before.metadata.annotations, ps.metadata.annotations);
        if (changed) this.pushQueue.add(objectKey(ps), 'urgent');
      },
      onDelete: (ps) => {
        this.pushQueue.cancel(objectKey(ps));
        void this.pushSources.untrack(objectKey(ps));
      },
    });
    this.stores.addHandlers(storeHandlers('SecretStore'));
    this.clusterStores.addHandlers(storeHandlers('ClusterSecretStore'));

    const ces = this.clusterExternalSecrets;
    if (ces) {
      ces.addHandlers({
        onAdd: (c) => this.cesQueue.add(c.metadata.name),
        onUpdate: (before, c) => {
          if (before.metadata.generation !== c.metadata.generation || before.metadata.uid !== c.metadata.uid) this.cesQueue.add(c.metadata.name);
        },
        onDelete: (c) => this.cesQueue.cancel(c.metadata.name),
      });
    }
    // Namespaces coming, going or relabelled change which ones a ClusterExternalSecret picks.
    const everyCes = () => {
      for (const c of ces?.values() ?? []) this.cesQueue.add(c.metadata.name);
    };
    // Namespace labels decide ClusterSecretStore access.
    this.namespaces.addHandlers({
      onAdd: everyCes,
      onDelete: everyCes,
      onUpdate: (before, ns) => {
        if (before.metadata.deletionTimestamp !== ns.metadata.deletionTimestamp) everyCes();
        if (isDeepStrictEqual(before.metadata.labels, ns.metadata.labels)) return;
        everyCes();
        for (const es of this.externalSecrets.values()) {
          if (es.metadata.namespace === ns.metadata.name && es.spec.secretStoreRef?.kind === 'ClusterSecretStore') {
            this.esQueue.add(objectKey(es), 'urgent');
          }
        }
      },
    });
  }
}
