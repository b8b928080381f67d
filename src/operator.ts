// The composition root: builds the operator's parts (informers, queues, store
// clients, reconcilers, controllers, refresh-event sources) and starts and
// stops them, leading or following; event-routing.ts routes watch events
// between them, and each reconciler owns what it does.
import { createSecretKey } from 'node:crypto';
import type { Logger } from 'pino';
import { SHARDING_LEADER_ANNOTATION } from './api/names.js';
import { PushSecretReconciler } from './controllers/pushsecret/reconciler.js';
import { ClusterExternalSecretReconciler } from './controllers/clusterexternalsecret/reconciler.js';
import { ExternalSecretReconciler } from './controllers/externalsecret/reconciler.js';
import { StoreResolver } from './secrets/store-resolver.js';
import { WorkloadRestarts } from './controllers/externalsecret/workload-restarts.js';
import { AwsSqsEvents } from './refresh-events/aws-sqs.js';
import { AzureEventGrid, storesOfVault } from './refresh-events/azure-eventgrid.js';
import { GcpPubSubEvents } from './refresh-events/gcp-pubsub.js';
import { KubernetesWatchEvents } from './refresh-events/kubernetes-watch.js';
import { StorePollers } from './refresh-events/store-pollers.js';
import { RefreshEvents } from './refresh-events/refresh-events.js';
import { RefreshWebhook } from './refresh-events/webhook.js';
import { CredentialWatch } from './controllers/store/credential-watch.js';
import { StoreReconciler } from './controllers/store/reconciler.js';
import { loadInstallationKey } from './installation-key.js';
import { KubeClient } from './kube/client.js';
import { EventRecorder } from './kube/events.js';
import type { HmacKey } from './secrets/data-hash.js';
import { findReady } from './kube/status.js';
import { objectKey } from './kube/types.js';
import { storeIdOf, storeKey } from './api/store-id.js';
import { Metrics } from './runtime/metrics.js';
import type { StoreClients } from './providers/store-clients.js';
import { unservedResources } from './kube/served-resources.js';
import type { Controller, Reconcile } from './runtime/controller.js';
import type { InformerOptions } from './runtime/informer.js';
import { LeaderElector } from './runtime/leader-election.js';
import { ReverseIndex } from './runtime/reverse-index.js';
import { WorkQueue } from './runtime/workqueue.js';
import { stopInOrder, stopTogether } from './runtime/lifecycle.js';
import { routeEvents, type EventRoutes } from './event-routing.js';
import type { OperatorOptions } from './operator-options.js';
import { operatorController, operatorStoreClients } from './operator-parts.js';
import { labelLeaderPod } from './leader-label.js';
import { whileApiServerAway } from './kube/start-retry.js';
import { Sharding, shardLabels } from './sharding.js';
import { operatorInformers, type OperatorInformers } from './operator-informers.js';
import { untilRingIdle } from './runtime/sharding/ring-idle.js';

export type { OperatorOptions };

const DEFAULT_WORKERS = 16;



interface Reconcilers {
  es: ExternalSecretReconciler;
  store: StoreReconciler;
  ces?: ClusterExternalSecretReconciler;
  push: PushSecretReconciler;
}

export class Operator {
  readonly metrics: Metrics;
  readonly kube: KubeClient;
  private readonly log: Logger;
  /** The caches (operator-informers.ts). */
  private readonly caches: OperatorInformers;
  private readonly cesQueue = new WorkQueue();
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
  /** With --shards: this replica's part of the ring (sharding.ts). */
  private sharding?: Sharding;
  private leading = false;
  private readonly ringIdleAbort = new AbortController();
  /** Start-up requests wait out an API server that is away, unless the operator is stopping. */
  private readonly startRetry: { stopping: () => boolean; log: Logger };
  /** The port the refresh webhook listens on (when it does). */
  webhookPort?: number;
  private started = false;
  private stopping = false;
  private stopped?: Promise<void>;

  constructor(private readonly opts: OperatorOptions) {
    this.log = opts.log;
    this.startRetry = { stopping: () => this.stopping, log: opts.log };
    this.metrics = opts.metrics ?? new Metrics();
    this.kube = new KubeClient(opts.kubeConfig, (verb, resource, code) => this.metrics.kubeRequests.inc({ verb, resource, code: String(code) }));
    const informerOpts = (kind: string): InformerOptions => ({
      ...opts.informer,
      log: this.log,
      onWatchRestart: (reason) => this.metrics.watchRestarts.inc({ kind, reason }),
    });
    this.caches = operatorInformers(this.kube, opts, informerOpts);
    this.pushSources = new CredentialWatch<string>(this.kube, informerOpts('PushSource'), (key) => this.pushQueue.add(key));
    this.storeClients = operatorStoreClients(this.kube, this.metrics, opts, DEFAULT_WORKERS, (key) => this.esQueue.add(key, 'routine'));
    // A changed credential Secret: the store's client (and its cached login) goes, and the store is checked again.
    this.credentials = new CredentialWatch(this.kube, informerOpts('CredentialSecret'), (store) => {
      this.log.info({ store }, 'a credential Secret of the store changed; renewing its client');
      void this.storeClients.drop(store);
      this.storeQueue.add(store);
    });
    if (opts.refreshEvents) {
      this.refreshEvents = this.makeRefreshEvents(opts.refreshEvents.windowMs);
      this.pollers.push(new StorePollers(new AwsSqsEvents(this.kube, this.refreshEvents, this.log)));
      this.pollers.push(new StorePollers(new GcpPubSubEvents(this.kube, this.refreshEvents, this.log)));
      this.pollers.push(new StorePollers(new KubernetesWatchEvents(this.kube, this.refreshEvents, this.log, opts.storeHostPolicy)));
    }
    routeEvents(this.routes());
    const externalSecrets = this.caches.externalSecrets;
    this.metrics.countReadyFrom(function* () {
      for (const es of externalSecrets.values()) yield findReady(es.status);
    });
  }

  /** Provider change events, collected for windowMs, refresh the ExternalSecrets that read the changed keys. */
  private makeRefreshEvents(windowMs: number): RefreshEvents {
    return new RefreshEvents({
      metrics: this.metrics,
      log: this.log,
      windowMs,
      refresh: (keys, since) => {
        for (const key of keys) {
          this.esReconciler?.remoteChanged(key, since);
          this.esQueue.add(key, 'urgent');
        }
      },
      relay: this.opts.sharding ? (changes) => this.sharding?.publishChanges(changes) : undefined,
    });
  }

  /** The parts watch events are routed between (event-routing.ts). */
  private routes(): EventRoutes {
    return {
      ...this.caches,
      log: this.log,
      esQueue: this.esQueue,
      storeQueue: this.storeQueue,
      pushQueue: this.pushQueue,
      cesQueue: this.cesQueue,
      bySecret: this.bySecret,
      byStore: this.byStore,
      storeClients: this.storeClients,
      pushSources: this.pushSources,
      pollers: this.pollers,
      refreshEvents: this.refreshEvents,
      reconciler: () => this.esReconciler,
    };
  }

  get isReady(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    const hmacKey = createSecretKey(await whileApiServerAway(() => loadInstallationKey(this.kube, this.opts.namespace), this.startRetry));
    const events = new EventRecorder(this.kube, this.log, () => this.metrics.eventsDropped.inc());
    const reconcilers = this.makeReconcilers(hmacKey, events);
    await this.startInformers();
    if (this.stopping) return;
    // A Pod that restarted after losing the Lease may still carry the label.
    await this.labelLeader(false);
    await this.startWebhook();
    const election = this.opts.leaderElection;
    if (election && this.opts.sharding) await this.joinRing(election, reconcilers);
    if (this.stopping) return;
    if (election) this.campaign(election, reconcilers);
    else this.lead(reconcilers);
    this.started = true;
    this.log.info({ watchNamespace: this.opts.watchNamespace ?? '(all)', leaderElection: election ? `${election.namespace}/${election.name}` : 'off' }, 'operator started');
  }

  /** The reconcilers, and the workload restarts the ExternalSecret reconciler reports to. */
  private makeReconcilers(hmacKey: HmacKey, events: EventRecorder): Reconcilers {
    const resolver = new StoreResolver(this.caches.stores, this.caches.clusterStores, this.caches.namespaces, this.opts.clusterSecretStores !== false);
    const restartOpts = this.opts.rolloutRestart;
    this.restarts = restartOpts ? new WorkloadRestarts({
      kube: this.kube,
      events,
      hmacKey,
      log: this.log,
      debounceMs: restartOpts.debounceMs,
      onOutcome: (key, outcome) => {
        this.esReconciler?.restartOutcome(key, outcome);
        this.esQueue.add(key);
      },
    }) : undefined;
    this.esReconciler = new ExternalSecretReconciler({
      kube: this.kube,
      externalSecrets: this.caches.externalSecrets,
      secrets: this.caches.secrets,
      stores: resolver,
      storeClients: this.storeClients,
      hmacKey,
      events,
      metrics: this.metrics,
      sharedReadMaxAgeMs: this.opts.sharedReadMaxAgeMs ?? 30_000,
      dependentsOf: (store) => this.byStore.ownersOf(store),
      secretChanged: (secret) => {
        for (const key of this.bySecret.ownersOf(secret)) this.esQueue.add(key, 'urgent');
      },
      restarts: this.restarts,
      hostPolicy: this.opts.storeHostPolicy,
      esoRetakeBaseMs: this.opts.esoRetakeBaseMs,
      secretLabels: this.opts.sharding ? shardLabels : undefined,
    });
    return {
      es: this.esReconciler,
      store: new StoreReconciler({ kube: this.kube, stores: this.caches.stores, clusterStores: this.caches.clusterStores, storeClients: this.storeClients, credentials: this.credentials, events, log: this.log }),
      ces: this.caches.clusterExternalSecrets
        ? new ClusterExternalSecretReconciler({ kube: this.kube, clusterExternalSecrets: this.caches.clusterExternalSecrets, externalSecrets: this.caches.externalSecretsOfCes ?? this.caches.externalSecrets, namespaces: this.caches.namespaces, events })
        : undefined,
      push: new PushSecretReconciler({
        kube: this.kube,
        pushSecrets: this.caches.pushSecrets,
        stores: resolver,
        secretStores: this.caches.stores,
        clusterStores: this.caches.clusterStores,
        storeClients: this.storeClients,
        hmacKey,
        events,
        watchSource: (key, secret) => this.pushSources.track(key, secret ? [secret] : []),
        hostPolicy: this.opts.storeHostPolicy,
      }),
    };
  }

  /** Caches first, so the first reconciles see the whole picture; CRDs the API server does not serve are named. */
  private async startInformers(): Promise<void> {
    const clusterStores = this.opts.clusterSecretStores !== false;
    const informers = clusterStores ? [this.caches.namespaces, this.caches.stores, this.caches.clusterStores, this.caches.secrets, this.caches.externalSecrets] : [this.caches.stores, this.caches.secrets, this.caches.externalSecrets];
    informers.push(this.caches.pushSecrets);
    if (this.caches.clusterExternalSecrets) informers.push(this.caches.clusterExternalSecrets);
    if (this.caches.externalSecretsOfCes) informers.push(this.caches.externalSecretsOfCes);
    const unserved = await whileApiServerAway(() => unservedResources(this.kube, informers.map((i) => i.type)), this.startRetry);
    if (unserved.length > 0) {
      throw new Error(`the API server does not serve ${unserved.join(', ')}: install secretsync's CRDs first (kubectl apply --server-side -k crds/, or the chart's crds/)`);
    }
    await Promise.all(informers.map((i) => i.start()));
  }

  /** The refresh webhook, when provider events come by webhook (every replica listens; followers answer 503). */
  private async startWebhook(): Promise<void> {
    const webhook = this.opts.refreshEvents?.webhook;
    if (!this.refreshEvents || !webhook) return;
    const azure = this.opts.refreshEvents?.azureEventGrid;
    const azureEventGrid = azure ? new AzureEventGrid(azure, this.refreshEvents, (vault) => storesOfVault(vault, this.caches.stores.values(), this.caches.clusterStores.values())) : undefined;
    this.webhook = new RefreshWebhook(this.kube, this.refreshEvents, this.log, { ...webhook, isLeader: () => this.leading, azureEventGrid });
    this.webhookPort = await this.webhook.start();
  }

  /** Followers keep their caches (and queues) filled; the leader works through them on taking over. */
  private campaign(election: NonNullable<OperatorOptions['leaderElection']>, reconcilers: Reconcilers): void {
    this.elector = new LeaderElector(this.kube, {
      ...election,
      // Sharded, the leader names itself as one that shards: members follow only such a leader's assignment.
      annotations: this.sharding ? { [SHARDING_LEADER_ANNOTATION]: election.identity } : undefined,
      log: this.log,
      onStartedLeading: () => {
        if (!this.stopping) this.lead(reconcilers);
      },
      onStoppedLeading: () => {
        this.leading = false;
        for (const part of this.pollers) part.setLeading(false);
        this.metrics.leader.set(0);
        void this.stop().finally(() => this.opts.onLeadershipLost?.());
      },
    });
    this.metrics.leader.set(0);
    this.elector.start();
  }

  /**
   * Sharded: this replica joins the ring and works at once on the buckets it
   * is given, leading or not; only cluster-scoped work waits for the lead.
   */
  private async joinRing(election: NonNullable<OperatorOptions['leaderElection']>, r: Reconcilers): Promise<void> {
    this.sharding = new Sharding(this.kube, this.metrics, this.log, { ...election, ring: election.name }, {
      externalSecrets: this.caches.externalSecrets,
      secrets: this.caches.secrets,
      controllers: () => this.controllers,
      takenOn: (taken) => this.takeOn(taken),
      givenUp: (given) => this.restarts?.flushWhere(given) ?? Promise.resolve(),
      onLost: () => void this.stop().finally(() => this.opts.onLeadershipLost?.()),
      changes: this.refreshEvents ? { deliver: (changes, since, only) => this.refreshEvents!.relayed(changes, since, only) } : undefined,
    }, this.opts.informer);
    this.startWork(r);
    await this.sharding.start();
  }

  /** Sharded: namespaces this replica now holds; their stores and PushSecrets (cached whole, so no watch event comes) are looked at again. */
  private takeOn(taken: (namespace: string) => boolean): void {
    for (const store of this.caches.stores.values()) {
      if (taken(store.metadata.namespace!)) this.storeQueue.add(storeKey(storeIdOf(store, 'SecretStore')));
    }
    for (const ps of this.caches.pushSecrets.values()) if (taken(ps.metadata.namespace!)) this.pushQueue.add(objectKey(ps));
  }

  /** The namespaced controllers (sharded: each refuses keys of buckets this replica does not hold). */
  private startWork(r: Reconcilers): void {
    const owns = this.sharding ? (key: string) => this.sharding!.ownsKey(key) : undefined;
    const work = [
      this.controller('store', this.storeQueue, 2, (key, ctx) => r.store.reconcile(key, ctx), owns),
      this.controller('externalsecret', this.esQueue, this.opts.workers ?? DEFAULT_WORKERS, (key, ctx) => r.es.reconcile(key, ctx), owns),
      this.controller('pushsecret', this.pushQueue, 4, (key, ctx) => r.push.reconcile(key, ctx), owns),
    ];
    this.controllers.push(...work);
    for (const c of work) c.start();
  }

  /** Leading: the controllers work (sharded: the cluster-scoped ones and the assignment), the pollers poll, and this Pod says it leads. */
  private lead(r: Reconcilers): void {
    if (!this.sharding) {
      const election = this.opts.leaderElection;
      // Taking over from replicas that sharded: they stop first.
      if (election) {
        void untilRingIdle(this.kube, { namespace: election.namespace, ring: election.name, pollMs: election.retryPeriodMs, log: this.log, signal: this.ringIdleAbort.signal })
          .then(() => {
            if (!this.stopping) this.startWork(r);
          });
      } else this.startWork(r);
    }
    const ces = r.ces;
    if (ces) {
      const controller = this.controller('clusterexternalsecret', this.cesQueue, 2, (key, ctx) => ces.reconcile(key, ctx));
      this.controllers.push(controller);
      controller.start();
    }
    this.sharding?.lead();
    // Sharded, the store controller ran before the lead and refused the ClusterSecretStores (the leader's to check): queued again now.
    if (this.sharding) for (const store of this.caches.clusterStores.values()) this.storeQueue.add(storeKey(storeIdOf(store, 'ClusterSecretStore')));
    this.leading = true;
    this.metrics.leader.set(1);
    void this.labelLeader(true);
    for (const part of this.pollers) part.setLeading(true);
  }

  /** Stops once; later calls wait for the same stop. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.ringIdleAbort.abort();
    this.started = false;
    if (this.leading) await this.labelLeader(false);
    this.leading = false;
    // Nothing new comes in; then the work in flight ends.
    await stopInOrder([this.webhook, ...this.pollers, this.refreshEvents]);
    // Sharded: each bucket's work stops and the member Lease goes, so the others take over at once.
    await this.sharding?.stop();
    await stopTogether(this.controllers);
    // Restarts still waiting for their window go out now: the next leader cannot know of them.
    // Work in flight is done or aborted: the Lease is handed over before the connections close.
    await stopInOrder([this.restarts, this.elector]);
    this.metrics.leader.set(0);
    await stopTogether(Object.values(this.caches));
    await stopInOrder([this.credentials, this.pushSources]);
    await this.storeClients.closeAll();
    await this.kube.close();
    this.log.info('operator stopped');
  }

  private controller(name: string, queue: WorkQueue, workers: number, reconcile: Reconcile, owns?: (key: string) => boolean): Controller {
    return operatorController({ name, queue, workers, reconcile, owns, metrics: this.metrics, log: this.log, journal: this.opts.reconcileJournal });
  }

  private labelLeader(leading: boolean): Promise<void> {
    return labelLeaderPod(this.kube, this.opts.namespace, this.opts.leaderLabelPod, leading, this.log);
  }
}
