// Restarting the workloads that use a Secret whose data changed, so a
// rotation reaches the application and not only the Secret.
//
// - Which: the ExternalSecret's spec.target.rolloutRestart (by name or label
//   selector, its own namespace only), and every Deployment, StatefulSet and
//   DaemonSet there annotated secretsync.dev/restart-on-change: "true" whose
//   Pod template reads the Secret (pod-secret-refs.ts).
// - How: the Pod template annotation secretsync.dev/restarted-for is set to a
//   keyed hash of the new data, so the workload controller rolls the Pods, a
//   repeat of the same data is a no-op, and a GitOps tool can ignore one field.
// - When: changes are collected per namespace for a debounce window, so
//   Secrets that change together restart a workload once. Workloads are
//   listed when a window closes, not watched: restarts are rare, and a cache
//   of every workload would cost memory in every cluster.
// The reconciler reports each ExternalSecret's outcome in its status.
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { RESTART_ON_CHANGE_ANNOTATION, RESTARTED_FOR_ANNOTATION } from '../../api/names.js';
import { EventReason, RestartReason } from '../../api/reasons.js';
import type { ExternalSecret } from '../../api/types.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import { WORKLOADS, type KubeObject } from '../../kube/types.js';
import { selectorMatches } from '../../secrets/namespace-conditions.js';
import type { HmacKey } from '../../secrets/data-hash.js';
import { secretsReferenced, type PodSpec } from './pod-secret-refs.js';
import type { Lifecycle } from '../../runtime/lifecycle.js';

export type RestartTarget = NonNullable<NonNullable<ExternalSecret['spec']['target']>['rolloutRestart']>[number];
export type WorkloadKind = RestartTarget['kind'];

/** The kinds an annotation opts in; Argo Rollouts only by name or selector (its CRD may not exist). */
const DISCOVERED: WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** A Secret whose data changed, and what its ExternalSecret asks to restart. */
export interface SecretChange {
  esKey: string;
  namespace: string;
  secret: string;
  /** The keyed hash of its new data (the Secret's secretsync.dev/data-hash). */
  dataHash: string;
  targets: RestartTarget[];
}

/** What one debounce window did for one ExternalSecret. */
export interface RestartOutcome {
  at: Date;
  restarted: Array<{ kind: WorkloadKind; name: string }>;
  /** The first thing that went wrong (the Secret itself is synced either way). */
  problem?: { reason: string; message: string };
}

interface Workload extends KubeObject {
  spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec } };
}

export interface WorkloadRestartsDeps {
  kube: KubeClient;
  events: EventRecorder;
  hmacKey: HmacKey;
  log: Logger;
  debounceMs: number;
  onOutcome: (esKey: string, outcome: RestartOutcome) => void;
}

/** The annotation value for a set of changed Secrets: keyed, so it reveals nothing of the data. */
export function restartedFor(key: HmacKey, changes: Array<{ secret: string; dataHash: string }>): string {
  const lines = changes.map((c) => `${c.secret}=${c.dataHash}`).sort();
  return createHmac('sha256', key).update(lines.join('\n')).digest('hex').slice(0, 32);
}

export class WorkloadRestarts implements Lifecycle {
  private readonly pending = new Map<string, { changes: Map<string, SecretChange>; timer: NodeJS.Timeout }>();

  constructor(private readonly deps: WorkloadRestartsDeps) {}

  /** A Secret's data changed: its workloads restart when the namespace's window closes. */
  changed(change: SecretChange): void {
    let batch = this.pending.get(change.namespace);
    if (!batch) {
      batch = { changes: new Map(), timer: setTimeout(() => void this.flush(change.namespace), this.deps.debounceMs) };
      this.pending.set(change.namespace, batch);
    }
    // The latest data of each Secret is what its workloads restart for.
    batch.changes.set(change.secret, change);
  }

  /** Stopping (or handing over leadership): the open windows restart now rather than never. */
  async stop(): Promise<void> {
    const namespaces = [...this.pending.keys()];
    for (const batch of this.pending.values()) clearTimeout(batch.timer);
    await Promise.all(namespaces.map((ns) => this.flush(ns)));
  }

  /** A handover: the open windows of the namespaces this replica gives up restart now (the next holder cannot know of them). */
  async flushWhere(given: (namespace: string) => boolean): Promise<void> {
    const namespaces = [...this.pending.keys()].filter(given);
    for (const ns of namespaces) clearTimeout(this.pending.get(ns)!.timer);
    await Promise.all(namespaces.map((ns) => this.flush(ns)));
  }

  private async flush(namespace: string): Promise<void> {
    const batch = this.pending.get(namespace);
    if (!batch) return;
    this.pending.delete(namespace);
    try {
      await this.restart(namespace, [...batch.changes.values()]);
    } catch (err) {
      this.deps.log.error({ namespace, err: (err as Error).message }, 'restarting workloads failed');
    }
  }

  private async restart(namespace: string, changes: SecretChange[]): Promise<void> {
    const at = new Date();
    const outcomes = new Map<string, RestartOutcome>(changes.map((c) => [c.esKey, { at, restarted: [] }]));
    const fail = (esKeys: Iterable<string>, reason: string, message: string) => {
      for (const k of esKeys) outcomes.get(k)!.problem ??= { reason, message };
    };
    // Each kind listed once per window, whether asked for by name, selector or annotation.
    const listed = new Map<WorkloadKind, Workload[] | KubeApiError>();
    const list = async (kind: WorkloadKind) => {
      if (!listed.has(kind)) {
        try {
          const items = (await this.deps.kube.list<Workload>(WORKLOADS[kind], { namespace })).items;
          listed.set(kind, items);
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          listed.set(kind, err);
        }
      }
      return listed.get(kind)!;
    };
    const plan = new Map<string, { kind: WorkloadKind; workload: Workload; changes: Map<string, SecretChange> }>();
    const add = (kind: WorkloadKind, workload: Workload, change: SecretChange) => {
      const key = `${kind}/${workload.metadata.name}`;
      const entry = plan.get(key) ?? { kind, workload, changes: new Map() };
      entry.changes.set(change.secret, change);
      plan.set(key, entry);
    };

    for (const change of changes) {
      for (const target of change.targets) {
        const items = await list(target.kind);
        if (items instanceof KubeApiError) {
          fail([change.esKey], ...this.listProblem(target.kind, namespace, items));
          continue;
        }
        const matched = target.name !== undefined
          ? items.filter((w) => w.metadata.name === target.name)
          : items.filter((w) => selectorMatches(target.selector!, w.metadata.labels ?? {}));
        if (target.name !== undefined && matched.length === 0) {
          fail([change.esKey], RestartReason.NotFound, `${target.kind} "${target.name}" not found in namespace ${namespace}`);
        }
        for (const w of matched) add(target.kind, w, change);
      }
    }

    const bySecret = new Map(changes.map((c) => [c.secret, c]));
    for (const kind of DISCOVERED) {
      const items = await list(kind);
      if (items instanceof KubeApiError) {
        // Without list permission no annotated workload can be found: every change says so.
        if (items.status === 403) fail(outcomes.keys(), ...this.listProblem(kind, namespace, items));
        continue;
      }
      for (const w of items) {
        if (w.metadata.annotations?.[RESTART_ON_CHANGE_ANNOTATION] !== 'true') continue;
        for (const secret of secretsReferenced(w.spec?.template?.spec)) {
          const change = bySecret.get(secret);
          if (change) add(kind, w, change);
        }
      }
    }

    for (const { kind, workload, changes: why } of plan.values()) {
      const name = workload.metadata.name;
      const value = restartedFor(this.deps.hmacKey, [...why.values()]);
      const esKeys = [...why.values()].map((c) => c.esKey);
      // Already restarted for exactly this data (a repeat, or another replica of us): nothing to do.
      if (workload.spec?.template?.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] !== value) {
        try {
          await this.deps.kube.mergePatch(WORKLOADS[kind], namespace, name, { spec: { template: { metadata: { annotations: { [RESTARTED_FOR_ANNOTATION]: value } } } } });
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err;
          const reason = err.status === 403 ? RestartReason.Forbidden : err.status === 404 ? RestartReason.NotFound : RestartReason.Failed;
          fail(esKeys, reason, `could not restart ${kind} "${name}": ${err.status === 403 ? 'the operator may not patch it (enable rolloutRestart)' : err.message}`);
          continue;
        }
        const secrets = [...why.keys()].sort().map((s) => `"${s}"`).join(', ');
        this.deps.events.emit({ ...workload, apiVersion: WORKLOADS[kind].apiVersion, kind }, 'Normal', EventReason.WorkloadRestarted, `Restarted by secretsync: Secret ${secrets} changed`);
        this.deps.log.info({ namespace, workload: `${kind}/${name}`, secrets: why.size }, 'restarted a workload for changed Secret data');
        for (const k of esKeys) outcomes.get(k)!.restarted.push({ kind, name });
      }
    }
    for (const [esKey, outcome] of outcomes) this.deps.onOutcome(esKey, outcome);
  }

  private listProblem(kind: WorkloadKind, namespace: string, err: KubeApiError): [string, string] {
    if (err.status === 403) {
      return [RestartReason.Forbidden, `the operator may not list ${WORKLOADS[kind].plural} in namespace ${namespace}: enable rolloutRestart (chart value rolloutRestart.enabled, or the kustomize component config/components/rollout-restart)`];
    }
    if (err.status === 404) return [RestartReason.NotFound, `${kind} is not a kind this cluster serves (is Argo Rollouts installed?)`];
    return [RestartReason.Failed, `could not list ${WORKLOADS[kind].plural} in namespace ${namespace}: ${err.message}`];
  }
}
