// ClusterExternalSecret: one ExternalSecret stamped into every namespace its
// selectors or list pick. Level-based: each reconcile compares the namespaces
// selected now (from the Namespace cache) with the ExternalSecrets this
// ClusterExternalSecret owns (from the ExternalSecret cache), applies the
// missing or changed ones and deletes the ones in namespaces no longer
// selected. Only ExternalSecrets it created are touched: one of the same name
// made by someone else is reported, never taken over. The ExternalSecrets
// carry an owner reference, so deleting the ClusterExternalSecret lets the
// garbage collector remove them.
import { isDeepStrictEqual } from 'node:util';
import { ClusterExternalSecretReason } from '../../api/reasons.js';
import type { ClusterExternalSecret, ExternalSecret } from '../../api/types.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import { clean, findReady, readyCondition, statusChanged } from '../../kube/status.js';
import { API_VERSION, Resources, type KubeObject } from '../../kube/types.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import type { Informer } from '../../runtime/informer.js';
import { errorMessage, shortMessage } from '../../util/errors.js';
import { selectorMatches } from '../../secrets/namespace-conditions.js';

/** Names the ClusterExternalSecret an ExternalSecret was stamped from (selects them in the cache). */
export const CLUSTER_EXTERNAL_SECRET_LABEL = 'secretsync.dev/cluster-external-secret';

type Status = NonNullable<ClusterExternalSecret['status']>;

export interface ClusterExternalSecretDeps {
  kube: KubeClient;
  clusterExternalSecrets: Informer<ClusterExternalSecret>;
  externalSecrets: Informer<ExternalSecret>;
  namespaces: Informer<KubeObject>;
  events: EventRecorder;
}

/** Whether a namespace is picked: listed by name, or matched by any selector. */
export function namespaceSelected(spec: ClusterExternalSecret['spec'], namespace: string, labels: Record<string, string>): boolean {
  if (spec.namespaces?.includes(namespace)) return true;
  const selectors = [...(spec.namespaceSelector ? [spec.namespaceSelector] : []), ...(spec.namespaceSelectors ?? [])];
  return selectors.some((s) => selectorMatches(s, labels));
}

export class ClusterExternalSecretReconciler {
  constructor(private readonly deps: ClusterExternalSecretDeps) {}

  async reconcile(name: string, ctx: ReconcileContext): Promise<void> {
    const ces = this.deps.clusterExternalSecrets.get(name);
    if (!ces) return; // deleted: the garbage collector removes its ExternalSecrets (owner references)
    const esName = ces.spec.externalSecretName ?? ces.metadata.name;
    const selected = new Set<string>();
    for (const ns of this.deps.namespaces.values()) {
      if (ns.metadata.deletionTimestamp) continue;
      if (namespaceSelected(ces.spec, ns.metadata.name, ns.metadata.labels ?? {})) selected.add(ns.metadata.name);
    }
    const owned = [...this.deps.externalSecrets.values()].filter((es) => es.metadata.labels?.[CLUSTER_EXTERNAL_SECRET_LABEL] === name && ownedBy(es, ces));
    const provisioned: string[] = [];
    const failed: Status['failedNamespaces'] = [];

    for (const namespace of [...selected].sort()) {
      const existing = this.deps.externalSecrets.get(`${namespace}/${esName}`);
      if (existing && !ownedBy(existing, ces)) {
        failed.push({ namespace, reason: `an ExternalSecret "${esName}" exists there and was not made by this ClusterExternalSecret; it is left alone` });
        continue;
      }
      const desired = this.desired(ces, esName, namespace);
      try {
        if (!existing || !upToDate(existing, desired)) await this.deps.kube.apply(Resources.ExternalSecret, desired);
        provisioned.push(namespace);
      } catch (err) {
        failed.push({ namespace, reason: shortMessage(errorMessage(err)) });
        ctx.log.warn({ clusterExternalSecret: name, namespace, err: errorMessage(err) }, 'could not provision the ExternalSecret');
      }
    }
    // What it made where it no longer belongs: namespaces dropped from the selection, or a renamed ExternalSecret.
    for (const es of owned) {
      if (selected.has(es.metadata.namespace!) && es.metadata.name === esName) continue;
      try {
        await this.deps.kube.delete(Resources.ExternalSecret, es.metadata.namespace, es.metadata.name, { uid: es.metadata.uid });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) throw err;
      }
    }
    await this.setStatus(ces, esName, provisioned, failed);
  }

  private desired(ces: ClusterExternalSecret, name: string, namespace: string): ExternalSecret & KubeObject {
    const meta = ces.spec.externalSecretMetadata;
    return {
      apiVersion: API_VERSION,
      kind: 'ExternalSecret',
      metadata: {
        name,
        namespace,
        labels: { ...meta?.labels, [CLUSTER_EXTERNAL_SECRET_LABEL]: ces.metadata.name },
        ...(meta?.annotations ? { annotations: meta.annotations } : {}),
        ownerReferences: [{ apiVersion: API_VERSION, kind: 'ClusterExternalSecret', name: ces.metadata.name, uid: ces.metadata.uid!, controller: true, blockOwnerDeletion: false }],
      },
      spec: ces.spec.externalSecretSpec,
    };
  }

  private async setStatus(ces: ClusterExternalSecret, esName: string, provisioned: string[], failed: Status['failedNamespaces'] & object): Promise<void> {
    const ok = failed.length === 0;
    const message = ok
      ? `ExternalSecret "${esName}" in ${provisioned.length} namespace(s)`
      : `ExternalSecret "${esName}" in ${provisioned.length} namespace(s); not in ${failed.length}: ${failed.map((f) => f.namespace).join(', ')}`;
    const reason = ok ? ClusterExternalSecretReason.Provisioned : ClusterExternalSecretReason.NamespacesFailed;
    const status: Status = {
      observedGeneration: ces.metadata.generation,
      externalSecretName: esName,
      provisionedNamespaces: provisioned,
      ...(failed.length > 0 ? { failedNamespaces: failed } : {}),
      conditions: [readyCondition(ces.status, ok, reason, message, ces.metadata.generation, new Date())],
    };
    if (!statusChanged(ces.status, status)) return;
    const old = findReady(ces.status);
    if (old?.reason !== reason) this.deps.events.emit({ ...ces, apiVersion: API_VERSION, kind: 'ClusterExternalSecret' }, ok ? 'Normal' : 'Warning', reason, message);
    try {
      await this.deps.kube.patchStatus(Resources.ClusterExternalSecret, ces, clean(status));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }
}

function ownedBy(es: ExternalSecret, ces: ClusterExternalSecret): boolean {
  return (es.metadata.ownerReferences ?? []).some((o) => o.kind === 'ClusterExternalSecret' && o.uid === ces.metadata.uid);
}

/** The fields this controller sets are as desired (what others added, like status, is not compared). */
function upToDate(existing: ExternalSecret, desired: ExternalSecret): boolean {
  const labels = existing.metadata.labels ?? {};
  const annotations = existing.metadata.annotations ?? {};
  return isDeepStrictEqual(clean(existing.spec), clean(desired.spec))
    && Object.entries(desired.metadata.labels ?? {}).every(([k, v]) => labels[k] === v)
    && Object.entries(desired.metadata.annotations ?? {}).every(([k, v]) => annotations[k] === v);
}
