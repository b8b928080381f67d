// An ExternalSecret's leases beyond one sync: the finalizer that holds its
// deletion while leases behind its values may be in force, their revocation
// when it goes (through its store, and through the generators that made its
// generated values), and the revocation of leases a new sync replaced.
import { LEASES_FINALIZER, OWNER_ANNOTATION } from '../../api/names.js';
import { EventReason } from '../../api/reasons.js';
import type { ExternalSecret } from '../../api/types.js';
import type { KubeApiError } from '../../kube/client.js';
import { Resources } from '../../kube/types.js';
import { leasedEntries, revokeAtDeletion, type RevokeOptions } from '../../generators/generated.js';
import { decryptState } from '../../generators/state.js';
import type { StoreClient } from '../../providers/store-client.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { targetName } from '../../secrets/desired-secret.js';
import { kubeStep, toSyncError } from '../../secrets/errors.js';
import { SyncError } from '../../secrets/sync-error.js';
import type { ExternalSecretDeps } from './deps.js';
import { generatorStateOf } from './generator-state-of.js';
import { recordedLeases, type RecordedLease } from './leases.js';
import { withKind } from './with-kind.js';

export class LeaseFinalizer {
  constructor(private readonly deps: ExternalSecretDeps) {}

  /** Leases recorded on the Secret before this sync and not behind it now: revoked, not left to their TTL. */
  async revokeReplaced(client: StoreClient, before: RecordedLease[], now: RecordedLease[], consumer: string, ctx: ReconcileContext): Promise<void> {
    const replaced = before.filter((l) => !now.some((n) => n.id === l.id)).map((l) => l.id);
    if (replaced.length === 0) return;
    try {
      await client.revokeLeases(replaced, { signal: ctx.signal, log: ctx.log, consumer });
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, leases: replaced.length }, 'could not revoke replaced leases; they end at their TTL');
    }
  }

  /** How generated values' leases are revoked on this ExternalSecret's behalf. */
  revokeOptions(es: ExternalSecret, ctx: ReconcileContext): RevokeOptions {
    return { namespace: es.metadata.namespace!, kube: this.deps.kube, signal: ctx.signal, log: ctx.log, hostPolicy: this.deps.hostPolicy };
  }

  /**
   * The ExternalSecret is being deleted and holds leases: revoke the ones this
   * process holds, the ones recorded on its Secret and the ones behind its
   * generated values, then let it go. When the store (or generator) is gone
   * there is nothing to revoke with: a Warning says so.
   */
  async finalize(es: ExternalSecret, ctx: ReconcileContext): Promise<void> {
    const { deps } = this;
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    const secret = deps.secrets.get(`${es.metadata.namespace}/${targetName(es)}`);
    const owned = secret?.metadata.annotations?.[OWNER_ANNOTATION] === es.metadata.name;
    const recorded = owned ? recordedLeases(secret) : [];
    const generatedLeases = owned ? leasedEntries(decryptState(await generatorStateOf(deps.kube, es, secret), deps.hmacKey), Date.now()) : [];
    await revokeAtDeletion(generatedLeases, this.revokeOptions(es, ctx), (message) => deps.events.emit(withKind(es), 'Warning', EventReason.LeasesNotRevoked, message))
      .catch((err: unknown) => { throw toSyncError(err); });
    let client: StoreClient | undefined;
    if (!es.spec.secretStoreRef) return void (await this.hold(es, false));
    try {
      const resolved = deps.stores.resolve(es);
      client = await deps.storeClients.get(resolved.store, resolved.id.kind);
    } catch (err) {
      const why = err instanceof SyncError ? err.message : 'its store cannot be used';
      deps.events.emit(withKind(es), 'Warning', EventReason.LeasesNotRevoked, `${recorded.length} recorded lease(s) cannot be revoked and end at their TTL: ${why}`);
    }
    if (client) {
      const opts = { signal: ctx.signal, log: ctx.log, consumer: key };
      try {
        await client.release(opts);
        await client.revokeLeases(recorded.map((l) => l.id), opts);
      } catch (err) {
        // Retried with backoff while a lease can still be in force; after that there is nothing left to revoke.
        const lastEnd = Math.max(0, ...(es.status?.sources ?? []).map((s) => Date.parse(s.expiresAt ?? '') || 0));
        if (Date.now() < lastEnd) throw toSyncError(err);
        ctx.log.info({ err: (err as Error).message }, 'leases not revoked, but all have ended');
      }
      ctx.log.info({ leases: recorded.length }, 'leases revoked; releasing the ExternalSecret');
    }
    await this.hold(es, false);
  }

  /** Adds or removes our finalizer, conditional on the resourceVersion seen (a conflict is retried). */
  async hold(es: ExternalSecret, present: boolean): Promise<ExternalSecret> {
    const others = (es.metadata.finalizers ?? []).filter((f) => f !== LEASES_FINALIZER);
    const finalizers = present ? [...others, LEASES_FINALIZER] : others;
    const patch = { metadata: { finalizers, resourceVersion: es.metadata.resourceVersion } };
    try {
      return await kubeStep(`${present ? 'adding' : 'removing'} the lease finalizer`, () =>
        this.deps.kube.mergePatch<ExternalSecret>(Resources.ExternalSecret, es.metadata.namespace, es.metadata.name, patch),
      );
    } catch (err) {
      // Already gone: nothing left to hold.
      if (!present && err instanceof SyncError && (err.cause as KubeApiError | undefined)?.status === 404) return es;
      throw err;
    }
  }
}
