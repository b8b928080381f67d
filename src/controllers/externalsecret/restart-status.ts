// What restarting an ExternalSecret's workloads did, carried into its status.
// Every status write carries status.restarts and the RolloutRestart condition
// forward, with any outcome that has come in since; the outcome's Events go
// out once, when status records it.
import { RestartReason } from '../../api/reasons.js';
import type { ExternalSecret, ExternalSecretStatus } from '../../api/types.js';
import type { EventRecorder } from '../../kube/events.js';
import { statusChanged } from '../../kube/status.js';
import { targetName } from '../../secrets/desired-secret.js';
import { withKind } from './with-kind.js';
import type { RestartOutcome } from './workload-restarts.js';

const ROLLOUT_RESTART = 'RolloutRestart';
/** status.restarts keeps the latest restart of at most this many workloads. */
const MAX_RESTARTS_RECORDED = 32;

export class RestartStatus {
  /** ExternalSecret key -> what restarting its workloads did, until status records it. */
  private readonly outcomes = new Map<string, RestartOutcome>();

  constructor(
    /** The operator runs with --rollout-restart. */
    private readonly enabled: boolean,
    private readonly events: EventRecorder,
  ) {}

  /** Restarting the workloads of this ExternalSecret's Secret finished: the caller queues it. */
  outcome(key: string, outcome: RestartOutcome): void {
    this.outcomes.set(key, outcome);
  }

  forget(key: string): void {
    this.outcomes.delete(key);
  }

  /** Status has restart news to record: an outcome, or the feature asked for while the operator runs without it. */
  pending(es: ExternalSecret): boolean {
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    return this.outcomes.has(key) || statusChanged(es.status, this.apply(es, { ...es.status }).status);
  }

  /** `status` with status.restarts and the RolloutRestart condition carried forward, and the outcome it records, if any. */
  apply(es: ExternalSecret, status: ExternalSecretStatus): { status: ExternalSecretStatus; outcome?: RestartOutcome } {
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    const outcome = this.outcomes.get(key);
    const asked = (es.spec.target?.rolloutRestart?.length ?? 0) > 0;
    const previous = es.status?.conditions?.find((c) => c.type === ROLLOUT_RESTART);
    let restarts = es.status?.restarts;
    let condition: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } | undefined = previous;
    if (asked && !this.enabled) {
      condition = { status: 'False', reason: RestartReason.Disabled, message: 'spec.target.rolloutRestart is set, but the operator runs without --rollout-restart: no workload is restarted' };
    } else if (outcome) {
      const latest = new Map((restarts ?? []).map((r) => [`${r.kind}/${r.name}`, r]));
      for (const r of outcome.restarted) {
        latest.delete(`${r.kind}/${r.name}`);
        latest.set(`${r.kind}/${r.name}`, { kind: r.kind, name: r.name, restartedAt: outcome.at.toISOString() });
      }
      restarts = [...latest.values()].slice(-MAX_RESTARTS_RECORDED);
      if (outcome.problem) condition = { status: 'False', ...outcome.problem };
      else if (outcome.restarted.length > 0) {
        condition = { status: 'True', reason: RestartReason.Restarted, message: `restarted ${outcome.restarted.map((r) => `${r.kind}/${r.name}`).join(', ')} for changed Secret data` };
      }
    } else if (!asked && previous?.reason === RestartReason.Disabled) {
      condition = undefined;
    }
    const others = (status.conditions ?? []).filter((c) => c.type !== ROLLOUT_RESTART);
    const conditions = condition
      ? [...others, {
          type: ROLLOUT_RESTART,
          status: condition.status,
          reason: condition.reason,
          message: condition.message,
          lastTransitionTime: previous?.status === condition.status && previous.lastTransitionTime ? previous.lastTransitionTime : new Date().toISOString(),
          observedGeneration: es.metadata.generation,
        }]
      : others;
    return { status: { ...status, restarts, conditions }, outcome };
  }

  /** Status holds the outcome: it is done with (unless a newer one came in meanwhile), and its Events go out. */
  recorded(es: ExternalSecret, outcome: RestartOutcome | undefined): void {
    if (!outcome) return;
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    if (this.outcomes.get(key) === outcome) this.outcomes.delete(key);
    if (outcome.problem) this.events.emit(withKind(es), 'Warning', outcome.problem.reason, outcome.problem.message);
    if (outcome.restarted.length > 0) {
      this.events.emit(withKind(es), 'Normal', RestartReason.Restarted, `Restarted ${outcome.restarted.map((r) => `${r.kind}/${r.name}`).join(', ')}: Secret "${targetName(es)}" changed`);
    }
  }
}
