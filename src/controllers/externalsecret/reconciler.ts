// The ExternalSecret reconcile sequence:
//   1. decide whether anything must be fetched (spec change, refresh due,
//      target missing or drifted); if not, just schedule the next refresh;
//   2. resolve the store and fetch through its shared client;
//   3. shape and build the desired Secret; create it, or write it by
//      server-side apply only if its keyed hash or metadata differ from what
//      is there (target-secret.ts);
//   4. write status only if it changed; emit Events on transitions.
// Any failure leaves the existing Secret exactly as it was.
import { createHash } from 'node:crypto';
import { FORCE_SYNC_ANNOTATION, HASH_ANNOTATION, LEASES_ANNOTATION, OWNER_ANNOTATION } from '../../api/names.js';
import { EventReason, Reason } from '../../api/reasons.js';
import type { AnyStore, ExternalSecret, ExternalSecretStatus } from '../../api/types.js';
import { findReady, readyCondition } from '../../kube/status.js';
import type { KubeObject } from '../../kube/types.js';
import { StoreHeldBackError } from '../../providers/errors.js';
import { TerminalError, type ReconcileContext, type ReconcileResult } from '../../runtime/controller.js';
import { parseDuration } from '../../util/duration.js';
import { externalSecretProblems } from '../../validation/semantic.js';
import { buildDesiredSecret, creationPolicy, targetName } from '../../secrets/desired-secret.js';
import { kubeStep, toSyncError } from '../../secrets/errors.js';
import { encodeLeases, holdsLeaseFinalizer, leasesOf, recordedLeases } from './leases.js';
import { fetchData, generatorUses } from '../../secrets/fetch-data.js';
import { generate, leasedEntries, replacedLeases, revokeReplacedGenerated } from '../../generators/generated.js';
import { GENERATOR_STATE_ANNOTATION, decryptState, stateAnnotation } from '../../generators/state.js';
import { RefreshBeats } from './refresh-beat.js';
import { RefreshPrefetch } from './refresh-prefetch.js';
import { nextRefresh, requeueAtNextRefresh } from './refresh-schedule.js';
import { shapeSecret } from '../../secrets/shape.js';
import { recordSource, recordedSources } from '../../secrets/status-sources.js';
import { readTemplateSource } from '../../secrets/template-source.js';
import { TargetSecrets } from './target-secret.js';
import { StorePending } from '../../secrets/store-resolver.js';
import { SyncError } from '../../secrets/sync-error.js';
import { EsoRetakes } from './eso-retakes.js';
import { carriesEsoMarks } from '../../api/eso.js';
import type { RestartOutcome } from './workload-restarts.js';
import { RestartStatus } from './restart-status.js';
import { StatusWriter } from './status-writer.js';
import { withKind } from './with-kind.js';
import type { ExternalSecretDeps } from './deps.js';
import { generatorStateOf } from './generator-state-of.js';
import { LeaseFinalizer } from './lease-finalizer.js';
import { FailureStatus } from './failure-status.js';
import { KeptRefresh } from './kept-refresh.js';
import { syncedCondition } from './synced-condition.js';
import type { Fetched, SyncRun, Written } from './sync-run.js';

const DEFAULT_REFRESH = '1h';
const STORE_PENDING_RECHECK_MS = 30_000;
/** How long a refresh's batchable reads wait for others (refreshes of one beat are processed over time). */
const REFRESH_BATCH_WINDOW_MS = 1000;

/**
 * What was synced: the ExternalSecret's generation plus a digest of its labels
 * and annotations and, for Periodic refresh, the store's identity and
 * generation (a changed store spec can change what is fetched). OnChange
 * follows the ExternalSecret alone.
 */
export function syncedVersion(es: ExternalSecret, store: AnyStore | undefined): string {
  const storePart = (es.spec.refreshPolicy ?? 'Periodic') === 'Periodic' ? [store?.metadata.uid ?? '', store?.metadata.generation ?? 0] : [];
  const digest = createHash('sha256')
    .update(JSON.stringify([es.metadata.labels ?? {}, es.metadata.annotations ?? {}, ...storePart]))
    .digest('hex')
    .slice(0, 16);
  return `${es.metadata.generation ?? 0}-${digest}`;
}

export class ExternalSecretReconciler {
  private readonly targets: TargetSecrets;
  /** ExternalSecret key -> the force-sync value already honoured. */
  private readonly forced = new Map<string, string>();
  private readonly beats = new RefreshBeats();
  private readonly prefetch: RefreshPrefetch;
  private readonly restartStatus: RestartStatus;
  private readonly status: StatusWriter;
  private readonly leases: LeaseFinalizer;
  private readonly failures: FailureStatus;
  private readonly kept: KeptRefresh;
  /** ExternalSecret key -> when a provider event said a remote value it reads changed. */
  private readonly remoteChanges = new Map<string, number>();

  constructor(private readonly deps: ExternalSecretDeps) {
    this.targets = new TargetSecrets(deps.kube, deps.hmacKey, deps.secretChanged, new EsoRetakes(deps.esoRetakeBaseMs));
    this.restartStatus = new RestartStatus(deps.restarts !== undefined, deps.events);
    this.status = new StatusWriter(deps.kube, deps.externalSecrets, this.restartStatus);
    this.leases = new LeaseFinalizer(deps);
    this.failures = new FailureStatus(deps, this.status, this.targets);
    this.kept = new KeptRefresh(this.status, this.beats, deps.metrics);
    this.prefetch = new RefreshPrefetch(deps.dependentsOf, (key) => this.status.current(key));
  }

  forget(key: string): void {
    this.forced.delete(key);
    this.status.forget(key);
    this.restartStatus.forget(key);
    this.remoteChanges.delete(key);
  }

  /** A provider event: a remote value this ExternalSecret reads changed at `since` (the caller queues it). */
  remoteChanged(key: string, since: number): void {
    this.remoteChanges.set(key, Math.max(since, this.remoteChanges.get(key) ?? 0));
  }

  /** Restarting the workloads of this ExternalSecret's Secret finished: the caller queues it, status records it. */
  restartOutcome(key: string, outcome: RestartOutcome): void {
    this.restartStatus.outcome(key, outcome);
  }

  /** A managed Secret is gone: nothing about it needs remembering. */
  forgetSecret(secretKey: string): void {
    this.targets.forget(secretKey);
  }

  /** A Secret event that only brings back what we wrote or verified: there is nothing to reconcile. */
  isOurWrite(secretKey: string, resourceVersion: string | undefined): boolean {
    return this.targets.holdsOurs(secretKey, resourceVersion);
  }

  /** The cache has caught up with this ExternalSecret: our copy of a status write is no longer needed. */
  cacheUpdated(key: string, resourceVersion: string | undefined): void {
    this.status.cacheUpdated(key, resourceVersion);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const es = this.status.current(key);
    if (!es) return;
    if (es.metadata.deletionTimestamp) return holdsLeaseFinalizer(es) ? this.leases.finalize(es, ctx) : undefined;
    const now = Date.now();
    try {
      return await this.sync(es, now, ctx);
    } catch (err) {
      // Stopping: the next operator picks the key up; nothing to record.
      if (ctx.signal.aborted) throw err;
      if (err instanceof StorePending) {
        ctx.log.debug({ store: err.id.name }, 'waiting for the store to be validated');
        // The store's verdict enqueues this key; the requeue only guards against a missed event.
        return { requeueAfterMs: STORE_PENDING_RECHECK_MS };
      }
      const failure = toSyncError(err);
      if (err instanceof StoreHeldBackError) return this.failures.heldBack(es, failure, ctx);
      await this.failures.record(es, failure, Date.now(), ctx.log);
      if (!failure.retry) throw new TerminalError(failure.message, { cause: err });
      if (failure.retryAfterMs !== undefined) return { requeueAfterMs: failure.retryAfterMs };
      throw failure;
    }
  }

  /**
   * One sync, as a sequence of steps: decide whether to fetch, fetch, write the
   * Secret (built from what was fetched), record status, then schedule.
   */
  private async sync(current: ExternalSecret, now: number, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const run = this.begin(current, now, ctx);
    const why = await this.decide(run);
    if (!why) return this.nothingToFetch(run);
    ctx.log.debug({ why }, 'syncing');
    const fetched = await this.fetch(run, why);
    if ('kept' in fetched) return fetched.kept;
    const written = await this.write(run, fetched);
    return this.record(run, fetched, written);
  }

  /** What every step of this sync reads. */
  private begin(es: ExternalSecret, now: number, ctx: ReconcileContext): SyncRun {
    const { deps } = this;
    const policy = creationPolicy(es);
    const name = targetName(es);
    const namespace = es.metadata.namespace!;
    const key = `${namespace}/${es.metadata.name}`;
    const refreshPolicy = es.spec.refreshPolicy ?? 'Periodic';
    const forceValue = es.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
    // A store that is gone, refused or not Ready shows at once, even when nothing is due.
    // An ExternalSecret whose every value comes from generators has no store.
    const resolved = es.spec.secretStoreRef ? deps.stores.resolve(es) : undefined;
    // A provider event refreshes what a schedule would (Periodic, not an immutable Secret already written).
    const changedAt = this.remoteChanges.get(key);
    const eventDue = changedAt !== undefined && refreshPolicy === 'Periodic' && !(es.spec.target?.immutable && es.status?.binding);
    if (changedAt !== undefined && !eventDue) this.remoteChanges.delete(key);
    return {
      es, now, ctx, policy, name, namespace, key, refreshPolicy, forceValue, resolved,
      intervalMs: parseDuration(es.spec.refreshInterval ?? DEFAULT_REFRESH),
      cached: policy === 'None' ? undefined : deps.secrets.get(`${namespace}/${name}`),
      forced: forceValue !== undefined && this.forced.get(key) !== forceValue,
      version: syncedVersion(es, resolved?.store),
      afterEvent: eventDue ? changedAt : undefined,
    };
  }

  /** Why the provider must be read now, a provider event included; undefined when nothing calls for it. */
  private async decide(run: SyncRun): Promise<string | undefined> {
    const why = await this.reasonToFetch(run.es, run.version, run.refreshPolicy, run.now, run.cached);
    // The event says the value changed: no version check, no waiting for a batch.
    if (run.afterEvent !== undefined && (why === undefined || why === 'refresh due')) return 'remote changed';
    if (why === 'spec changed') {
      // What no provider answer can fix is refused before any call (the checks `secretsync validate` runs).
      const problems = await externalSecretProblems(run.es.spec);
      if (problems.length > 0) throw new SyncError(problems[0]!.reason, problems.map((p) => p.message).join('; '), false);
    }
    return why;
  }

  /** Nothing to fetch (CreatedOnce, or not due): Ready again if its store is usable again, restart news recorded. */
  private async nothingToFetch({ es, now }: SyncRun): Promise<ReconcileResult | void> {
    if (findReady(es.status)?.status !== 'True') {
      await this.status.write(es, { ...es.status, conditions: [readyCondition(es.status, true, Reason.Synced, 'Secret is in sync with the provider', es.metadata.generation, new Date(now))] });
    } else if (this.restartStatus.pending(es)) {
      await this.status.write(es, { ...es.status });
    }
    return requeueAtNextRefresh(es, now);
  }

  /**
   * Generated values, then the store's reads on one of its seats (a store whose
   * calls hang cannot hold every worker: store-seats.ts). A due refresh may keep
   * the Secret as it is without reading a value (kept-refresh.ts).
   */
  private async fetch(run: SyncRun, why: string): Promise<Fetched | { kept: ReconcileResult }> {
    const { deps } = this;
    const { es, now, ctx, intervalMs, forced, key, cached, afterEvent } = run;
    const client = run.resolved ? await deps.storeClients.get(run.resolved.store, run.resolved.id.kind) : undefined;
    const uses = generatorUses(es.spec);
    const dueAt = why === 'refresh due' && !forced ? Date.parse(es.status!.nextRefreshTime!) : undefined;
    // A shared read may serve this one only if it is fresher than half this ExternalSecret's own refresh interval.
    const maxAgeMs = forced ? 0 : Math.min(deps.sharedReadMaxAgeMs, intervalMs > 0 ? intervalMs / 2 : deps.sharedReadMaxAgeMs);
    const readOptions = {
      maxAgeMs: afterEvent !== undefined ? 0 : maxAgeMs,
      // After a provider event only reads made since it will do; they are shared like any other.
      changedAt: afterEvent,
      consumer: key,
      signal: ctx.signal,
      log: ctx.log,
      // A scheduled refresh has nobody waiting on it: its plain reads may wait to share a batch call,
      // and any read made since it fell due is as fresh as it asks (the store's beat shares one read),
      // though never one older than an interval (a refresh long overdue).
      batchWindowMs: dueAt !== undefined ? REFRESH_BATCH_WINDOW_MS : undefined,
      fetchedSince: dueAt !== undefined ? Math.max(dueAt, now - intervalMs) : afterEvent,
    };
    // Only an ExternalSecret with generators has state to read (at most one GET, when the cache lags our write).
    const previousState = uses.length > 0 ? await generatorStateOf(deps.kube, es, cached) : undefined;
    const previousGenerated = decryptState(previousState, deps.hmacKey);
    const generated = uses.length > 0
      ? await generate(uses, { namespace: run.namespace, kube: deps.kube, previous: previousGenerated, now, signal: ctx.signal, log: ctx.log, hostPolicy: deps.hostPolicy })
      : undefined;
    const seat = client?.seats?.take(key, ctx.release, readOptions.batchWindowMs);
    try {
      // Generated values are settled by their state above, so only a store-only spec can be confirmed by versions.
      if (dueAt !== undefined && client && uses.length === 0) {
        const kept = await this.kept.attempt(es, cached, client, intervalMs, now, readOptions, ctx);
        if (kept) return { kept };
        this.prefetch.start(client, dueAt, readOptions);
      }
      client?.recall(recordedSources(es.status));
      const data = await fetchData(client, es.spec, readOptions, generated?.bySlot);
      return { client, data, generated, previousState, previousGenerated };
    } finally {
      seat?.leave();
    }
  }

  /**
   * The desired Secret, built from what was fetched, written if it differs
   * (target-secret.ts), with its leases held and the ones it replaced revoked,
   * workloads restarted on a real data change, and an Event for the write.
   */
  private async write(run: SyncRun, fetched: Fetched): Promise<Written> {
    const { deps } = this;
    const { now, ctx, policy, name, namespace, key, cached } = run;
    let { es } = run;
    const { client, data, generated, previousState, previousGenerated } = fetched;
    const shaped = await shapeSecret(es, data.data, { readSource: (kind, source) => this.readTemplateSource(namespace, kind, source) });
    const desired = buildDesiredSecret(es, shaped, deps.hmacKey);
    if (deps.secretLabels) Object.assign(desired.body.metadata.labels!, deps.secretLabels(namespace));
    const state = generated ? stateAnnotation(generated.state, previousState, deps.hmacKey) : undefined;
    if (state) desired.body.metadata.annotations![GENERATOR_STATE_ANNOTATION] = state;
    const leases = leasesOf(data.sources);
    // Generated leases are recorded in the generator state; store leases in their own annotation.
    const generatedLeases = generated ? leasedEntries(generated.state, now).length > 0 : false;
    if (leases.length > 0 && policy !== 'None') desired.body.metadata.annotations![LEASES_ANNOTATION] = encodeLeases(leases);
    // Before the Secret records them: from now on deleting the ExternalSecret waits for their revocation.
    if ((leases.length > 0 || generatedLeases) && policy !== 'None' && !holdsLeaseFinalizer(es)) es = await this.leases.hold(es, true);
    const written = policy === 'None' ? {} : await this.targets.write(es, desired, cached);
    // Only a real change of the data restarts workloads: never the first write, nor a metadata-only one.
    const newHash = desired.body.metadata.annotations?.[HASH_ANNOTATION];
    // A takeover from ESO restarts only if it changed the data ESO had written.
    const dataChanged = written.operation === 'update' ? cached?.metadata.annotations?.[HASH_ANNOTATION] !== newHash : written.adopted?.dataChanged === true;
    if (deps.restarts && newHash && dataChanged) {
      deps.restarts.changed({ esKey: key, namespace, secret: name, dataHash: newHash, targets: es.spec.target?.rolloutRestart ?? [] });
    }
    if (client) await this.leases.revokeReplaced(client, recordedLeases(cached), leases, key, ctx);
    // Generated values replaced (or no longer used): their leases go now that the Secret holds the new ones.
    if (generated) await revokeReplacedGenerated(replacedLeases(previousGenerated, generated.state, now), this.leases.revokeOptions(es, ctx));
    this.announceWrite(es, name, written);
    if (run.forceValue !== undefined) this.forced.set(key, run.forceValue);
    return { es, written, keys: Object.keys(shaped.data).length };
  }

  private announceWrite(es: ExternalSecret, name: string, written: Awaited<ReturnType<TargetSecrets['write']>>): void {
    const { deps } = this;
    if (written.adopted) {
      deps.metrics.secretWrites.inc({ operation: 'adopt' });
      const from = written.adopted.from.length > 0 ? written.adopted.from.join(', ') : 'its label';
      const data = written.adopted.dataChanged ? 'its data was replaced with the provider\'s' : 'its data is unchanged';
      deps.events.emit(withKind(es), 'Normal', EventReason.SecretAdopted, `Secret "${name}" taken over in place from External Secrets Operator (${from}); ${data}`);
    } else if (written.operation) {
      deps.metrics.secretWrites.inc({ operation: written.operation });
      deps.events.emit(withKind(es), 'Normal', written.operation === 'create' ? EventReason.Created : EventReason.Updated, `Secret "${name}" ${written.operation === 'create' ? 'created' : 'updated'}`);
    }
  }

  /** Status records the sync and the next refresh (an immutable Secret, once written, is never refreshed); then schedule. */
  private async record(run: SyncRun, fetched: Fetched, { es, written, keys }: Written): Promise<ReconcileResult | void> {
    const { deps } = this;
    const { now, intervalMs, policy, name, key, afterEvent } = run;
    const schedule = run.refreshPolicy === 'Periodic'
      ? nextRefresh(intervalMs, fetched.data.sources, now, Math.random, this.beats.dueFor(fetched.client, intervalMs, now))
      : nextRefresh(0, [], now);
    const immutable = es.spec.target?.immutable === true;
    const status: ExternalSecretStatus = {
      observedGeneration: es.metadata.generation,
      refreshTime: new Date(now).toISOString(),
      nextRefreshTime: schedule.delayMs !== undefined && !immutable ? new Date(now + schedule.delayMs).toISOString() : undefined,
      syncedResourceVersion: run.version,
      binding: policy === 'None' ? undefined : { name, resourceVersion: written.resourceVersion },
      sources: fetched.data.sources.map(recordSource),
      conditions: [syncedCondition(es, schedule.expired, now)],
    };
    const previous = findReady(es.status);
    await this.status.write(es, status);
    // Handled, unless a newer event came in meanwhile.
    if (afterEvent !== undefined && this.remoteChanges.get(key) === afterEvent) this.remoteChanges.delete(key);
    const condition = status.conditions![0]!;
    deps.metrics.syncs.inc({ reason: condition.reason });
    // First sync of this ExternalSecret: how long users waited for their Secret.
    if (!es.status?.refreshTime && es.metadata.creationTimestamp) deps.metrics.timeToReady.observe((now - Date.parse(es.metadata.creationTimestamp)) / 1000);
    if (condition.reason === Reason.SourceExpired && previous?.reason !== Reason.SourceExpired) {
      deps.events.emit(withKind(es), 'Warning', Reason.SourceExpired, condition.message);
    } else if (!written.operation && previous?.status !== 'True') {
      // A write already recorded its own Event.
      deps.events.emit(withKind(es), 'Normal', Reason.Synced, `Secret "${name}" is in sync (${keys} keys)`);
    }
    return requeueAtNextRefresh({ ...es, status }, now);
  }

  /** Why the provider must be read now, or undefined when nothing calls for it. */
  private async reasonToFetch(es: ExternalSecret, version: string, refreshPolicy: string, now: number, cached: KubeObject | undefined): Promise<string | undefined> {
    const policy = creationPolicy(es);
    const ours = cached !== undefined && cached.metadata.annotations?.[OWNER_ANNOTATION] === es.metadata.name;
    const missing = policy !== 'None' && !ours;
    if (refreshPolicy === 'CreatedOnce' && es.status?.syncedResourceVersion !== undefined) return missing ? 'target Secret missing' : undefined;
    if (es.status?.syncedResourceVersion !== version) return 'spec changed';
    if (findReady(es.status)?.status !== 'True') return 'last sync failed';
    if (missing) return 'target Secret missing';
    if (ours && policy !== 'Merge' && carriesEsoMarks(cached)) return 'written back by External Secrets Operator';
    const next = es.status?.nextRefreshTime;
    const due = refreshPolicy === 'Periodic' && !(es.spec.target?.immutable && ours) && next !== undefined && now >= Date.parse(next);
    if (due) return 'refresh due';
    if (ours && policy !== 'Merge' && !(await this.targets.intact(es, cached))) return 'target Secret changed';
    return undefined;
  }

  /** templateFrom sources come from the ExternalSecret's own namespace, and nowhere else. */
  private readTemplateSource(namespace: string, kind: 'ConfigMap' | 'Secret', name: string): Promise<Record<string, Uint8Array>> {
    return readTemplateSource((type, ns, n) => kubeStep(`reading templateFrom ${kind} "${name}"`, () => this.deps.kube.getOrUndefined(type, ns, n)), namespace, kind, name);
  }
}
