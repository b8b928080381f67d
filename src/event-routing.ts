// Where watch events go: each informer's changes become keys in the queues
// of the controllers that act on them, through the indexes that say which
// ExternalSecrets depend on a Secret or a store. The operator (operator.ts)
// builds the parts; this file routes between them.
import { isDeepStrictEqual } from 'node:util';
import { storeIdFor, storeIdOf, storeKey } from './api/store-id.js';
import type { ClusterSecretStore, ExternalSecret, SecretStore, StoreKind } from './api/types.js';
import { CLUSTER_EXTERNAL_SECRET_LABEL } from './controllers/clusterexternalsecret/reconciler.js';
import type { ExternalSecretReconciler } from './controllers/externalsecret/reconciler.js';
import type { CredentialWatch } from './controllers/store/credential-watch.js';
import { findReady, syncedAtGeneration } from './kube/status.js';
import { objectKey, type KubeObject } from './kube/types.js';
import type { StoreClients } from './providers/store-clients.js';
import type { RefreshEvents } from './refresh-events/refresh-events.js';
import type { StorePollers } from './refresh-events/store-pollers.js';
import type { ReverseIndex } from './runtime/reverse-index.js';
import type { WorkQueue } from './runtime/workqueue.js';
import { isStoreReady } from './secrets/store-ready.js';
import { targetName } from './secrets/desired-secret.js';
import type { Logger } from 'pino';
import type { OperatorInformers } from './operator-informers.js';

/** The parts events are routed between: the operator's caches, its queues and indexes. */
export interface EventRoutes extends OperatorInformers {
  log: Logger;
  esQueue: WorkQueue;
  storeQueue: WorkQueue;
  pushQueue: WorkQueue;
  cesQueue: WorkQueue;
  /** ExternalSecret key -> its target Secret's key. */
  bySecret: ReverseIndex;
  /** ExternalSecret key -> its store's key. */
  byStore: ReverseIndex;
  storeClients: StoreClients;
  pushSources: CredentialWatch<string>;
  pollers: StorePollers[];
  refreshEvents?: RefreshEvents;
  /** The ExternalSecret reconciler, once the operator has made it. */
  reconciler: () => ExternalSecretReconciler | undefined;
}

const readyOf = (s: SecretStore | ClusterSecretStore) => [isStoreReady(s), findReady(s.status)?.message];

export function routeEvents(p: EventRoutes): void {
  routeExternalSecrets(p);
  routeSecrets(p);
  routeStores(p);
  routePushSecrets(p);
  routeClusterExternalSecrets(p);
}

function enqueueDependents(p: EventRoutes, index: ReverseIndex, target: string): void {
  for (const key of index.ownersOf(target)) p.esQueue.add(key, 'urgent');
}

/** An ExternalSecret added, changed or gone: indexed, and queued unless only its status changed. */
function routeExternalSecrets(p: EventRoutes): void {
  const track = (es: ExternalSecret) => {
    const key = objectKey(es);
    p.bySecret.set(key, `${es.metadata.namespace}/${targetName(es)}`);
    const store = storeIdFor(es);
    if (store) p.byStore.set(key, storeKey(store));
    else p.byStore.remove(key);
    p.refreshEvents?.index.set(es);
  };
  const untrack = (key: string) => {
    p.bySecret.remove(key);
    p.byStore.remove(key);
    p.refreshEvents?.index.remove(key);
    p.esQueue.cancel(key);
    p.reconciler()?.forget(key);
  };
  // A ClusterExternalSecret's own ExternalSecrets changed or went: it puts them back in step.
  const cesOf = (es: ExternalSecret) => {
    const owner = es.metadata.labels?.[CLUSTER_EXTERNAL_SECRET_LABEL];
    if (owner && p.clusterExternalSecrets && !p.externalSecretsOfCes) p.cesQueue.add(owner);
  };
  p.externalSecrets.addHandlers({
    onAdd: (es) => {
      track(es);
      // One already synced for its spec (a start, a relist, buckets taken over) waits behind those that are new or changed.
      p.esQueue.add(objectKey(es), syncedAtGeneration(es) ? 'routine' : 'urgent');
    },
    onUpdate: (before, es) => {
      track(es);
      p.reconciler()?.cacheUpdated(objectKey(es), es.metadata.resourceVersion);
      // Our own status writes change nothing we act on.
      const changed =
        before.metadata.generation !== es.metadata.generation ||
        !isDeepStrictEqual(before.metadata.labels, es.metadata.labels) ||
        !isDeepStrictEqual(before.metadata.annotations, es.metadata.annotations) ||
        before.metadata.deletionTimestamp !== es.metadata.deletionTimestamp;
      if (changed) p.esQueue.add(objectKey(es), 'urgent');
      if (before.metadata.generation !== es.metadata.generation || !isDeepStrictEqual(before.metadata.labels, es.metadata.labels)) cesOf(es);
    },
    onDelete: (es) => {
      cesOf(es);
      const key = objectKey(es);
      const store = storeIdFor(es);
      if (store) void p.storeClients.release(storeKey(store), { consumer: key, log: p.log, signal: AbortSignal.timeout(30_000) });
      untrack(key);
    },
    // Handed to another replica (sharded): forgotten here, but what it holds (leases) stays for its next holder.
    onLeave: (es) => untrack(objectKey(es)),
  });
}

/** A managed Secret changed or went: the ExternalSecrets that write it look again (our own writes aside). */
function routeSecrets(p: EventRoutes): void {
  const secretChanged = (secret: KubeObject) => enqueueDependents(p, p.bySecret, objectKey(secret));
  // Our own write coming back through the watch: its one ExternalSecret has nothing left to do
  // (a new ExternalSecret was reconciled twice, the second time only to find that out).
  const secretWritten = (secret: KubeObject) => {
    const key = objectKey(secret);
    if (p.reconciler()?.isOurWrite(key, secret.metadata.resourceVersion) && p.bySecret.ownerCount(key) === 1) return;
    enqueueDependents(p, p.bySecret, key);
  };
  p.secrets.addHandlers({
    onAdd: secretWritten,
    onUpdate: (_, s) => secretWritten(s),
    onDelete: (s) => {
      p.reconciler()?.forgetSecret(objectKey(s));
      secretChanged(s);
    },
    onLeave: (s) => p.reconciler()?.forgetSecret(objectKey(s)),
  });
}

/** A store added, changed or gone: checked again, and its dependents (and every PushSecret) look again. */
function routeStores(p: EventRoutes): void {
  const storeHandlers = (kind: StoreKind) => {
    const keyOf = (s: SecretStore | ClusterSecretStore) => storeKey(storeIdOf(s, kind));
    return {
      onAdd: (s: SecretStore | ClusterSecretStore) => {
        for (const poller of p.pollers) poller.storeChanged(keyOf(s), s);
        p.storeQueue.add(keyOf(s));
        enqueueDependents(p, p.byStore, keyOf(s));
      },
      onUpdate: (before: SecretStore | ClusterSecretStore, s: SecretStore | ClusterSecretStore) => {
        const specChanged = before.metadata.generation !== s.metadata.generation;
        if (specChanged) p.storeQueue.add(keyOf(s));
        if (specChanged) for (const poller of p.pollers) poller.storeChanged(keyOf(s), s);
        // Spec, readiness or access rules changed: dependents may now sync, or must stop.
        if (specChanged || !isDeepStrictEqual(readyOf(before), readyOf(s))) {
          enqueueDependents(p, p.byStore, keyOf(s));
          // PushSecrets are few, and may name stores by label: each looks again.
          for (const ps of p.pushSecrets.values()) p.pushQueue.add(objectKey(ps));
        }
      },
      onDelete: (s: SecretStore | ClusterSecretStore) => {
        for (const poller of p.pollers) poller.storeChanged(keyOf(s), undefined);
        p.storeQueue.add(keyOf(s));
        enqueueDependents(p, p.byStore, keyOf(s));
      },
    };
  };
  p.stores.addHandlers(storeHandlers('SecretStore'));
  p.clusterStores.addHandlers(storeHandlers('ClusterSecretStore'));
}

/** A PushSecret added, changed or gone. */
function routePushSecrets(p: EventRoutes): void {
  p.pushSecrets.addHandlers({
    onAdd: (ps) => p.pushQueue.add(objectKey(ps), 'urgent'),
    onUpdate: (before, ps) => {
      // Spec, deletion, finalizers, or annotations (the ESO adoption switch); not our own status writes.
      const changed = before.metadata.generation !== ps.metadata.generation || before.metadata.deletionTimestamp !== ps.metadata.deletionTimestamp
        || !isDeepStrictEqual(before.metadata.finalizers, ps.metadata.finalizers) || !isDeepStrictEqual(before.metadata.annotations, ps.metadata.annotations);
      if (changed) p.pushQueue.add(objectKey(ps), 'urgent');
    },
    onDelete: (ps) => {
      p.pushQueue.cancel(objectKey(ps));
      void p.pushSources.untrack(objectKey(ps));
    },
  });
}

/** ClusterExternalSecrets, and the namespaces they (and ClusterSecretStore access) select. */
function routeClusterExternalSecrets(p: EventRoutes): void {
  const ces = p.clusterExternalSecrets;
  if (ces) {
    // Sharded, the ClusterExternalSecrets' own ExternalSecrets come from their own cache.
    p.externalSecretsOfCes?.addHandlers({
      onUpdate: (_, es) => p.cesQueue.add(es.metadata.labels![CLUSTER_EXTERNAL_SECRET_LABEL]!),
      onDelete: (es) => p.cesQueue.add(es.metadata.labels![CLUSTER_EXTERNAL_SECRET_LABEL]!),
    });
    ces.addHandlers({
      onAdd: (c) => p.cesQueue.add(c.metadata.name),
      onUpdate: (before, c) => {
        if (before.metadata.generation !== c.metadata.generation || before.metadata.uid !== c.metadata.uid) p.cesQueue.add(c.metadata.name);
      },
      onDelete: (c) => p.cesQueue.cancel(c.metadata.name),
    });
  }
  // Namespaces coming, going or relabelled change which ones a ClusterExternalSecret picks.
  const everyCes = () => {
    for (const c of ces?.values() ?? []) p.cesQueue.add(c.metadata.name);
  };
  // Namespace labels decide ClusterSecretStore access.
  p.namespaces.addHandlers({
    onAdd: everyCes,
    onDelete: everyCes,
    onUpdate: (before, ns) => {
      if (before.metadata.deletionTimestamp !== ns.metadata.deletionTimestamp) everyCes();
      if (isDeepStrictEqual(before.metadata.labels, ns.metadata.labels)) return;
      everyCes();
      for (const es of p.externalSecrets.values()) {
        if (es.metadata.namespace === ns.metadata.name && es.spec.secretStoreRef?.kind === 'ClusterSecretStore') {
          p.esQueue.add(objectKey(es), 'urgent');
        }
      }
    },
  });
}
