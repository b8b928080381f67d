// A sync that failed: Ready=False with the reason and a readable message, a
// Warning Event when either changed, Stalled when only a change can help, and
// the Secret left as it was (deleted only under deletionPolicy Delete when
// every remote secret is gone). A store that is held back is not a failure of
// a synced ExternalSecret.
import type { Logger } from 'pino';
import { REASON_HELP, Reason } from '../../api/reasons.js';
import type { ExternalSecret, ExternalSecretStatus } from '../../api/types.js';
import { clean, findReady, readyCondition, stalledCondition, syncedAtGeneration } from '../../kube/status.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { targetName } from '../../secrets/desired-secret.js';
import { RemoteMissing } from '../../secrets/fetch-data.js';
import type { SyncError } from '../../secrets/sync-error.js';
import type { ExternalSecretDeps } from './deps.js';
import type { StatusWriter } from './status-writer.js';
import type { TargetSecrets } from './target-secret.js';
import { withKind } from './with-kind.js';

/** A sync its held-back store turned away runs again by then even if no wake comes. */
const HELD_BACK_RECHECK_MS = 30_000;

export class FailureStatus {
  constructor(
    private readonly deps: ExternalSecretDeps,
    private readonly status: StatusWriter,
    private readonly targets: TargetSecrets,
  ) {}

  /**
   * Its store is held back: the store wakes this ExternalSecret when its turn
   * comes (the requeue only guards against a missed wake). One already synced
   * stays Ready, its Secret as synced as it was; one not yet synced says why.
   */
  async heldBack(es: ExternalSecret, failure: SyncError, ctx: ReconcileContext): Promise<ReconcileResult> {
    const synced = syncedAtGeneration(es);
    if (synced) ctx.log.debug('store held back; refresh put off until its turn');
    else await this.record(es, failure, Date.now(), ctx.log);
    return { requeueAfterMs: HELD_BACK_RECHECK_MS };
  }

  async record(es: ExternalSecret, failure: SyncError, now: number, log: Logger): Promise<void> {
    const { deps } = this;
    let reason: string = failure.reason;
    let message = failure.message;
    if (failure instanceof RemoteMissing && failure.all && es.spec.target?.deletionPolicy === 'Delete') {
      await this.deleteTarget(es);
      reason = Reason.Deleted;
      message = `${failure.message}; the target Secret is deleted (deletionPolicy Delete)`;
    }
    const previous = findReady(es.status);
    const status: ExternalSecretStatus = {
      ...clean(es.status ?? {}),
      observedGeneration: es.metadata.generation,
      conditions: [readyCondition(es.status, false, reason, message, es.metadata.generation, new Date(now))],
    };
    // kstatus (Flux, kubectl wait) reads Stalled: retrying cannot help until the spec or the store changes.
    if (!failure.retry) status.conditions!.push(stalledCondition(es.status, reason, message, es.metadata.generation, new Date(now)));
    deps.metrics.syncs.inc({ reason });
    if (previous?.reason !== reason || previous.message !== message || previous.status !== 'False') {
      deps.events.emit(withKind(es), 'Warning', reason, message);
    }
    log.info({ reason, message, hint: REASON_HELP[reason]?.todo }, 'sync failed');
    try {
      await this.status.write(es, status);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not write failure status');
    }
  }

  /** Deletes the target Secret if it is ours (deletionPolicy Delete). */
  private async deleteTarget(es: ExternalSecret): Promise<void> {
    const name = targetName(es);
    if (!(await this.targets.delete(es, this.deps.secrets.get(`${es.metadata.namespace}/${name}`)))) return;
    this.deps.metrics.secretWrites.inc({ operation: 'delete' });
    this.deps.events.emit(withKind(es), 'Normal', Reason.Deleted, `Secret "${name}" deleted: its remote secrets are gone (deletionPolicy Delete)`);
  }
}
