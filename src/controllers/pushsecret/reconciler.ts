// The PushSecret reconcile sequence:
//   1. the values: the source Secret's data (or a generator's output, kept in
//      the PushSecret's state Secret), shaped by spec.template;
//   2. per store and remote key: inspect, decide by ownership and
//      updatePolicy, write only what differs from what was written last
//      (status records an HMAC of it and the version written);
//   3. with deletionPolicy Delete, delete remote secrets this PushSecret owns
//      and no longer pushes (and all of them when it is deleted: finalizer);
//   4. status only when it changed; Events on transitions.
// Nothing is written or deleted remotely while the source cannot be read.
import type { Logger } from 'pino';
import { ADOPT_ESO_ANNOTATION, MANAGED_LABEL } from '../../api/names.js';
import { EventReason, PushReason, REASON_HELP, Reason } from '../../api/reasons.js';
import type { PushSecret, PushSecretStatus } from '../../api/types.js';
import { generate, leasedEntries, replacedLeases, revokeAtDeletion, revokeReplacedGenerated } from '../../generators/generated.js';
import type { HostPolicy } from '../../providers/host-policy.js';
import { GENERATOR_STATE_ANNOTATION, decryptState, stateAnnotation, type GeneratedEntry } from '../../generators/state.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import { clean, findReady, readyCondition, statusChanged } from '../../kube/status.js';
import { API_VERSION, Resources, type Secret } from '../../kube/types.js';
import type { StoreClients } from '../../providers/store-clients.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { TerminalError } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import { parseDuration } from '../../util/duration.js';
import type { HmacKey } from '../../secrets/data-hash.js';
import { dataHash, decodeSecretData, encodeSecretData } from '../../secrets/data-hash.js';
import { kubeStep, toSyncError } from '../../secrets/errors.js';
import { shapeSecret } from '../../secrets/shape.js';
import type { StoreResolver } from '../../secrets/store-resolver.js';
import { StorePending } from '../../secrets/store-resolver.js';
import { SyncError } from '../../secrets/sync-error.js';
import { readTemplateSource } from '../../secrets/template-source.js';
import { pushPlan } from '../../secrets/push-plan.js';
import { pushStores, type PushStore } from './push-stores.js';
import type { ClusterSecretStore, SecretStore } from '../../api/types.js';

export const PUSH_FINALIZER = 'secretsync.dev/push-cleanup';
/** The managed-by value External Secrets Operator marks the remote secrets it pushes with. */
const ESO_MANAGED_BY = 'external-secrets';
const DEFAULT_REFRESH = '1h';
const STORE_PENDING_RECHECK_MS = 30_000;

type Synced = NonNullable<PushSecretStatus['syncedPushSecrets']>;
type Record1 = Synced[string][string];

export interface PushSecretDeps {
  kube: KubeClient;
  pushSecrets: Informer<PushSecret>;
  stores: StoreResolver;
  secretStores: Informer<SecretStore>;
  clusterStores: Informer<ClusterSecretStore>;
  storeClients: StoreClients;
  hmacKey: HmacKey;
  events: EventRecorder;
  /**
   * Follow exactly this source Secret ("namespace/name") for the PushSecret
   * (undefined: none); resolves once its watch has its baseline.
   */
  watchSource: (pushSecret: string, secret: string | undefined) => Promise<void>;
  /** --deny-store-hosts, applied to generator endpoints. */
  hostPolicy?: HostPolicy;
}

/** The name of the Secret holding a generator-fed PushSecret's generated values. */
export const stateSecretName = (ps: PushSecret) => `${ps.metadata.name}-generated`.slice(0, 253);

export class PushSecretReconciler {
  constructor(private readonly deps: PushSecretDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const ps = this.deps.pushSecrets.get(key);
    if (!ps) return void (await this.deps.watchSource(key, undefined));
    const owner = key;
    const policyDelete = ps.spec.deletionPolicy === 'Delete';
    if (ps.metadata.deletionTimestamp) {
      await this.deps.watchSource(key, undefined);
      if (!(ps.metadata.finalizers ?? []).includes(PUSH_FINALIZER)) return;
      await this.cleanup(ps, owner, new Map(), ctx, true);
      await this.revokeGeneratedOnDeletion(ps, ctx);
      await this.setFinalizer(ps, false);
      return;
    }
    if (policyDelete !== (ps.metadata.finalizers ?? []).includes(PUSH_FINALIZER)) await this.setFinalizer(ps, policyDelete);
    const now = Date.now();
    try {
      return await this.push(ps, owner, now, ctx);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (err instanceof StorePending) return { requeueAfterMs: STORE_PENDING_RECHECK_MS };
      const failure = toSyncError(err);
      await this.recordFailure(ps, failure, ps.status?.syncedPushSecrets, now, ctx.log);
      if (!failure.retry) throw new TerminalError(failure.message, { cause: err });
      throw failure;
    }
  }

  private async push(ps: PushSecret, owner: string, now: number, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const { deps } = this;
    const namespace = ps.metadata.namespace!;
    const { data, sourceVersion, replaced } = await this.sourceData(ps, now, ctx);
    const shaped = ps.spec.template
      ? await shapeSecret({ metadata: ps.metadata, spec: { target: { template: ps.spec.template } } }, data, {
          readSource: (kind, name) => readTemplateSource((type, ns, n) => kubeStep(`reading templateFrom ${kind} "${name}"`, () => deps.kube.getOrUndefined(type, ns, n)), namespace, kind, name),
        })
      : { data };
    const plan = pushPlan(ps.spec, shaped.data);
    const stores = pushStores(ps, deps.stores, deps.secretStores, deps.clusterStores);
    const previous = ps.status?.syncedPushSecrets ?? {};
    const synced: Synced = {};
    const failures: SyncError[] = [];
    const opts = { signal: ctx.signal, log: ctx.log, consumer: `PushSecret/${owner}` };
    for (const target of stores) {
      const client = await deps.storeClients.get(target.store, target.kind);
      if (!client.writes) {
        failures.push(new SyncError(PushReason.StoreReadOnly, `${target.name} uses the ${client.provider} provider, which secretsync only reads`, false));
        continue;
      }
      const recorded = previous[target.name] ?? {};
      const out: Synced[string] = {};
      for (const [remoteKey, value] of plan) {
        try {
          out[remoteKey] = await this.pushOne(client, remoteKey, value, recorded[remoteKey], ps, owner, opts);
        } catch (err) {
          failures.push(prefix(toSyncError(err), target.name, remoteKey));
          // Keep what we knew about it: ownership recorded only in status must not be lost to one failure.
          if (recorded[remoteKey]) out[remoteKey] = recorded[remoteKey];
        }
      }
      synced[target.name] = out;
    }
    await this.cleanup(ps, owner, new Map(stores.map((s) => [s.name, s])), ctx, false, synced, plan, failures);
    // Generated values replaced: their leases go once the new ones are pushed everywhere (else they end at their TTL).
    if (failures.length === 0) await revokeReplacedGenerated(replaced, { namespace, kube: deps.kube, signal: ctx.signal, log: ctx.log, hostPolicy: deps.hostPolicy });
    const status: PushSecretStatus = {
      observedGeneration: ps.metadata.generation,
      refreshTime: new Date(now).toISOString(),
      syncedResourceVersion: `${ps.metadata.generation ?? 0}-${sourceVersion}`,
      syncedPushSecrets: synced,
      conditions: [failures.length === 0
        ? readyCondition(ps.status, true, PushReason.Pushed, `${plan.size} remote secret(s) in step in ${stores.length} store(s)`, ps.metadata.generation, new Date(now))
        : readyCondition(ps.status, false, failures[0]!.reason, failures.map((f) => f.message).join('; '), ps.metadata.generation, new Date(now))],
    };
    this.emitTransition(ps, status);
    await this.writeStatus(ps, status);
    if (failures.length > 0) {
      const first = failures[0]!;
      if (first.retry) throw first;
      // Nothing but a change can help (NotOwned, read-only store): look again at the interval.
    }
    const interval = parseDuration(ps.spec.refreshInterval ?? DEFAULT_REFRESH);
    return interval > 0 ? { requeueAfterMs: interval } : undefined;
  }

  /** One remote key of one store, by ownership and updatePolicy. */
  private async pushOne(client: Awaited<ReturnType<StoreClients['get']>>, remoteKey: string, value: Uint8Array, recorded: Record1 | undefined, ps: PushSecret, owner: string, opts: { signal: AbortSignal; log: Logger; consumer: string }): Promise<Record1> {
    // The Secret data hash, over the one value: keyed per installation, never the value.
    const hash = dataHash(this.deps.hmacKey, 'push', { value });
    const state = await client.inspectRemote(remoteKey, opts);
    const writes = client.writes!;
    const ours = writes.ownership === 'remote' ? state.owner === owner : recorded?.state === 'Written';
    // Pushed by External Secrets Operator (its marker, no owner of ours): taken over only when the PushSecret says so.
    const adopt = !ours && state.owner === undefined && state.managedBy === ESO_MANAGED_BY && ps.metadata.annotations?.[ADOPT_ESO_ANNOTATION] === 'true';
    if (!state.exists) {
      const written = await client.writeRemote(remoteKey, value, { owner, create: true }, opts);
      return { remoteKey, version: written.version, hash, state: 'Written' };
    }
    if (!ours && (!adopt || ps.spec.updatePolicy === 'IfNotExists')) {
      if (ps.spec.updatePolicy === 'IfNotExists') return { remoteKey, state: 'LeftAsIs' };
      const by = state.owner ? `by PushSecret ${state.owner}`
        : state.managedBy === ESO_MANAGED_BY ? `by External Secrets Operator (annotate the PushSecret ${ADOPT_ESO_ANNOTATION}: "true" to take it over)`
        : 'by someone else (no secretsync owner recorded)';
      throw new SyncError(PushReason.NotOwned, `"${remoteKey}" exists and was written ${by}: it is not overwritten`, false);
    }
    if (ps.spec.updatePolicy === 'IfNotExists') return { ...(recorded ?? { remoteKey }), remoteKey, state: 'Written' };
    const same = !adopt && recorded?.hash === hash && (state.version === undefined || recorded.version === state.version);
    if (same) return { remoteKey, version: recorded.version, hash, state: 'Written' };
    const written = await client.writeRemote(remoteKey, value, { owner, create: false, adopt, ifVersion: writes.conditional ? state.version : undefined }, opts);
    if (adopt) this.deps.events.emit(withKind(ps), 'Normal', EventReason.RemoteAdopted, `took over "${remoteKey}" from External Secrets Operator (${ADOPT_ESO_ANNOTATION})`);
    return { remoteKey, version: written.version, hash, state: 'Written' };
  }

  /**
   * deletionPolicy Delete: remote secrets this PushSecret wrote and no longer
   * pushes (a removed entry or store; everything when `all`) are deleted if
   * still ours. With None they are only forgotten.
   */
  private async cleanup(ps: PushSecret, owner: string, stores: Map<string, PushStore>, ctx: ReconcileContext, all: boolean, synced?: Synced, plan?: Map<string, Uint8Array>, failures?: SyncError[]): Promise<void> {
    const previous = ps.status?.syncedPushSecrets ?? {};
    if (ps.spec.deletionPolicy !== 'Delete') return;
    const opts = { signal: ctx.signal, log: ctx.log, consumer: `PushSecret/${owner}` };
    for (const [storeName, keys] of Object.entries(previous)) {
      for (const [remoteKey, record] of Object.entries(keys)) {
        if (record.state !== 'Written') continue;
        if (!all && stores.has(storeName) && plan?.has(remoteKey)) continue;
        try {
          const target = all || !stores.has(storeName) ? this.storeByName(ps, storeName, remoteKey) : stores.get(storeName)!;
          if (!target) continue; // The store is gone: nothing to delete with.
          const client = await this.deps.storeClients.get(target.store, target.kind);
          const state = await client.inspectRemote(remoteKey, opts);
          const ours = client.writes?.ownership === 'remote' ? state.owner === owner : true;
          if (state.exists && ours) {
            await client.removeRemote(remoteKey, opts);
            this.deps.events.emit(withKind(ps), 'Normal', EventReason.RemoteDeleted, `deleted "${remoteKey}" in ${storeName} (deletionPolicy Delete)`);
          }
        } catch (err) {
          if (all) throw toSyncError(err);
          failures?.push(prefix(toSyncError(err), storeName, remoteKey));
          // Not deleted: still ours to delete later.
          if (synced) (synced[storeName] ??= {})[remoteKey] = record;
        }
      }
    }
  }

  /**
   * A store the PushSecret wrote through before. Gone: nothing can delete
   * through it, which a Warning says (waiting would hold the PushSecret
   * forever). Not Ready yet: the error, so the deletion is retried.
   */
  private storeByName(ps: PushSecret, storeName: string, remoteKey: string): PushStore | undefined {
    const [kind, name] = storeName.split('/') as ['SecretStore' | 'ClusterSecretStore', string];
    try {
      return pushStores({ ...ps, spec: { ...ps.spec, secretStoreRefs: [{ kind, name }] } }, this.deps.stores, this.deps.secretStores, this.deps.clusterStores)[0];
    } catch (err) {
      if (!(err instanceof SyncError) || err.reason !== Reason.StoreNotFound) throw err;
      this.deps.events.emit(withKind(ps), 'Warning', EventReason.RemoteNotDeleted, `"${remoteKey}" in ${storeName} is not deleted: ${err.message}`);
      return undefined;
    }
  }

  /**
   * deletionPolicy Delete took the pushed copies away: the lease behind
   * generated credentials goes too (with None the copies stay, and so does
   * the lease, to its TTL). A failure is retried while the lease is in force.
   */
  private async revokeGeneratedOnDeletion(ps: PushSecret, ctx: ReconcileContext): Promise<void> {
    if (!ps.spec.selector.generatorRef) return;
    const { deps } = this;
    const leased = leasedEntries(decryptState(await this.generatorState(ps), deps.hmacKey), Date.now());
    await revokeAtDeletion(leased, { namespace: ps.metadata.namespace!, kube: deps.kube, signal: ctx.signal, log: ctx.log, hostPolicy: deps.hostPolicy },
      (message) => deps.events.emit(withKind(ps), 'Warning', EventReason.LeasesNotRevoked, message));
  }

  /** The generator state a generator-fed PushSecret keeps on its state Secret (the annotation, encrypted). */
  private async generatorState(ps: PushSecret): Promise<string | undefined> {
    const stateName = stateSecretName(ps);
    const existing = await kubeStep(`reading Secret "${stateName}"`, () => this.deps.kube.getOrUndefined<Secret>(Resources.Secret, ps.metadata.namespace, stateName));
    return existing?.metadata.annotations?.[GENERATOR_STATE_ANNOTATION];
  }

  /** The values to push, a version of where they came from, and generated values they replace. */
  private async sourceData(ps: PushSecret, now: number, ctx: ReconcileContext): Promise<{ data: Record<string, Uint8Array>; sourceVersion: string; replaced: GeneratedEntry[] }> {
    const { deps } = this;
    const namespace = ps.metadata.namespace!;
    const key = `${namespace}/${ps.metadata.name}`;
    const secretName = ps.spec.selector.secret?.name;
    if (secretName) {
      // Watched before it is read: a change after the read is an event, never lost between the two.
      await deps.watchSource(key, `${namespace}/${secretName}`);
      const secret = await kubeStep(`reading Secret "${secretName}"`, () => deps.kube.getOrUndefined<Secret>(Resources.Secret, namespace, secretName));
      if (!secret) throw new SyncError(PushReason.SourceNotFound, `Secret "${secretName}" not found in namespace "${namespace}"`, true);
      return { data: decodeSecretData(secret.data), sourceVersion: secret.metadata.resourceVersion ?? '', replaced: [] };
    }
    await deps.watchSource(key, undefined);
    // A generator: its values are kept in a Secret the PushSecret owns, so a refresh pushes the same ones.
    const stateName = stateSecretName(ps);
    const previousState = await this.generatorState(ps);
    const before = decryptState(previousState, deps.hmacKey);
    const made = await generate([{ slot: 'selector', ref: ps.spec.selector.generatorRef! }], { namespace, kube: deps.kube, previous: before, now, signal: ctx.signal, log: ctx.log, hostPolicy: deps.hostPolicy });
    const values = made.bySlot.get('selector')!.values;
    const annotation = stateAnnotation(made.state, previousState, deps.hmacKey)!;
    if (annotation !== previousState) {
      const body: Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: stateName,
          namespace,
          labels: { [MANAGED_LABEL]: 'true' },
          annotations: { [GENERATOR_STATE_ANNOTATION]: annotation },
          ownerReferences: [{ apiVersion: API_VERSION, kind: 'PushSecret', name: ps.metadata.name, uid: ps.metadata.uid!, controller: true }],
        },
        type: 'Opaque',
        data: encodeSecretData(values),
      };
      await kubeStep(`writing Secret "${stateName}"`, () => deps.kube.apply(Resources.Secret, body));
    }
    return { data: values, sourceVersion: made.state.selector!.at.toString(), replaced: replacedLeases(before, made.state, now) };
  }


  private emitTransition(ps: PushSecret, status: PushSecretStatus): void {
    const before = findReady(ps.status);
    const after = findReady(status)!;
    if (before?.status === after.status && before.reason === after.reason && before.message === after.message) return;
    this.deps.events.emit(withKind(ps), after.status === 'True' ? 'Normal' : 'Warning', after.reason, after.message);
  }

  private async recordFailure(ps: PushSecret, failure: SyncError, synced: Synced | undefined, now: number, log: Logger): Promise<void> {
    const status: PushSecretStatus = {
      ...clean(ps.status ?? {}),
      observedGeneration: ps.metadata.generation,
      syncedPushSecrets: synced,
      conditions: [readyCondition(ps.status, false, failure.reason, failure.message, ps.metadata.generation, new Date(now))],
    };
    this.emitTransition(ps, status);
    log.info({ reason: failure.reason, message: failure.message, hint: REASON_HELP[failure.reason]?.todo }, 'push failed');
    try {
      await this.writeStatus(ps, status);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not write failure status');
    }
  }

  private async writeStatus(ps: PushSecret, status: PushSecretStatus): Promise<void> {
    if (!statusChanged(ps.status, status)) return;
    try {
      await this.deps.kube.patchStatus(Resources.PushSecret, ps, clean(status));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }

  private async setFinalizer(ps: PushSecret, present: boolean): Promise<void> {
    const others = (ps.metadata.finalizers ?? []).filter((f) => f !== PUSH_FINALIZER);
    const finalizers = present ? [...others, PUSH_FINALIZER] : others;
    try {
      await this.deps.kube.mergePatch(Resources.PushSecret, ps.metadata.namespace, ps.metadata.name, { metadata: { finalizers, resourceVersion: ps.metadata.resourceVersion } });
    } catch (err) {
      if (!present && err instanceof KubeApiError && err.status === 404) return;
      throw toSyncError(err);
    }
  }
}

function prefix(err: SyncError, store: string, remoteKey: string): SyncError {
  return new SyncError(err.reason, `${store} "${remoteKey}": ${err.message}`, err.retry, { cause: err });
}

function withKind(ps: PushSecret): PushSecret {
  return { ...ps, apiVersion: API_VERSION, kind: 'PushSecret' };
}
