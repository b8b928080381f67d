// `secretsync release-eso`: the last step of an in-place cutover. ESO v2 puts
// a finalizer on each of its ExternalSecrets that only a running ESO removes,
// so once ESO is stopped its ExternalSecrets cannot be deleted. This releases
// (removes the finalizer and deletes) exactly those whose Secret secretsync
// now holds: our label and owner annotation, an ExternalSecret of ours by
// that name, and none of ESO's marks left. Any other is kept and said why, so
// a Secret ESO still owns is never handed to the garbage collector.
// An ESO ClusterExternalSecret is released once none of the ExternalSecrets it
// made is left anywhere: it goes, with its finalizer and the finalizers it put
// on the namespaces it provisioned (which would otherwise block their deletion).
import {
  carriesEsoMarks, ESO_CES_FINALIZER, ESO_CLUSTER_EXTERNAL_SECRET, ESO_EXTERNAL_SECRET, ESO_FINALIZER, esoNamespaceFinalizer,
} from '../api/eso.js';
import { MANAGED_LABEL, OWNER_ANNOTATION } from '../api/names.js';
import type { ExternalSecret } from '../api/types.js';
import { isNotFound, type KubeClient } from '../kube/client.js';
import { Resources, type KubeObject, type ResourceType } from '../kube/types.js';
import { errorMessage } from '../util/errors.js';
import { clusterClient, closeCluster, defaultNamespace, type CliContext } from './context.js';
import { styler } from './style.js';

interface EsoExternalSecret extends KubeObject {
  spec?: { target?: { name?: string } };
}

export interface ReleaseOptions {
  allNamespaces?: boolean;
  dryRun?: boolean;
}

/** Why ESO's ExternalSecret must stay, or undefined when secretsync holds its Secret. */
async function whyKept(kube: KubeClient, es: EsoExternalSecret): Promise<string | undefined> {
  const namespace = es.metadata.namespace!;
  const target = es.spec?.target?.name || es.metadata.name;
  const secret = await kube.getOrUndefined<KubeObject>(Resources.Secret, namespace, target);
  if (!secret) return `its Secret "${target}" does not exist`;
  if (secret.metadata.labels?.[MANAGED_LABEL] !== 'true') return `Secret "${target}" is not managed by secretsync yet`;
  const owner = secret.metadata.annotations?.[OWNER_ANNOTATION];
  const ours = owner ? await kube.getOrUndefined<ExternalSecret>(Resources.ExternalSecret, namespace, owner) : undefined;
  if (!ours) return `Secret "${target}" names ExternalSecret "${owner ?? ''}" (${Resources.ExternalSecret.plural}.${Resources.ExternalSecret.group}), which does not exist`;
  if (carriesEsoMarks(secret)) return `Secret "${target}" still carries External Secrets Operator's label or ownerReference (ESO wrote it back, or the takeover has not happened yet)`;
  return undefined;
}

/** Removes one finalizer from an object, if it still carries it (conditional on its place in the list). */
async function removeFinalizer(kube: KubeClient, type: ResourceType, namespace: string | undefined, name: string, finalizer: string): Promise<void> {
  const current = await kube.getOrUndefined<KubeObject>(type, namespace, name);
  const index = current?.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (!current || index < 0) return;
  await kube.jsonPatch(type, namespace, name, [
    { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ]);
}

/** Deletes an object (first: a running ESO that re-adds its finalizer in between then cleans up itself), then lets it go. */
async function release(kube: KubeClient, type: ResourceType, obj: KubeObject, finalizer: string): Promise<void> {
  const { namespace, name, uid } = obj.metadata;
  if (!obj.metadata.deletionTimestamp) await kube.delete(type, namespace, name, { uid });
  await removeFinalizer(kube, type, namespace, name, finalizer);
}

/** ESO's ClusterExternalSecrets none of whose ExternalSecrets is left: released, with their namespace finalizers. */
async function releaseClusterExternalSecrets(kube: KubeClient, dryRun: boolean, released: Set<string>, say: (line: string) => void): Promise<void> {
  let all: KubeObject[];
  try {
    all = (await kube.list<KubeObject>(ESO_CLUSTER_EXTERNAL_SECRET)).items;
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  if (all.length === 0) return;
  const made = (await kube.list<EsoExternalSecret>(ESO_EXTERNAL_SECRET)).items;
  const namespaces = (await kube.list<KubeObject>(Resources.Namespace)).items;
  for (const ces of all) {
    const id = `${ESO_CLUSTER_EXTERNAL_SECRET.plural}.${ESO_CLUSTER_EXTERNAL_SECRET.group}/${ces.metadata.name}`;
    const left = made.filter((es) => !released.has(es.metadata.uid ?? '') && es.metadata.ownerReferences?.some((r) => r.uid === ces.metadata.uid));
    if (left.length > 0) {
      say(`kept      ${id}: ${left.length} ExternalSecret(s) it made remain (${[...new Set(left.map((es) => es.metadata.namespace))].join(', ')})`);
      continue;
    }
    const finalizer = esoNamespaceFinalizer(ces.metadata.name);
    const held = namespaces.filter((n) => n.metadata.finalizers?.includes(finalizer));
    if (!dryRun) {
      await release(kube, ESO_CLUSTER_EXTERNAL_SECRET, ces, ESO_CES_FINALIZER);
      for (const n of held) await removeFinalizer(kube, Resources.Namespace, undefined, n.metadata.name, finalizer);
    }
    say(`${dryRun ? 'would release' : 'released'}  ${id}${held.length > 0 ? ` (and its finalizer on namespace ${held.map((n) => n.metadata.name).join(', ')})` : ''}`);
  }
}

export async function releaseEso(opts: ReleaseOptions, ctx: CliContext): Promise<number> {
  const out = styler(process.stdout);
  const err = styler(process.stderr);
  try {
    const kube = clusterClient({ ...ctx, useCluster: true })!;
    const namespace = opts.allNamespaces ? undefined : defaultNamespace(ctx);
    let items: EsoExternalSecret[];
    try {
      items = (await kube.list<EsoExternalSecret>(ESO_EXTERNAL_SECRET, { namespace })).items;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      process.stdout.write(`External Secrets Operator's CRDs (${ESO_EXTERNAL_SECRET.plural}.${ESO_EXTERNAL_SECRET.group}) are not installed: nothing to release\n`);
      return 0;
    }
    let released = 0;
    let kept = 0;
    const releasedUids = new Set<string>();
    for (const es of items) {
      const id = `${ESO_EXTERNAL_SECRET.plural}.${ESO_EXTERNAL_SECRET.group}/${es.metadata.name} -n ${es.metadata.namespace}`;
      const why = await whyKept(kube, es);
      if (why) {
        kept++;
        process.stdout.write(`${out.yellow('kept')}      ${id}: ${why}\n`);
        continue;
      }
      if (!opts.dryRun) await release(kube, ESO_EXTERNAL_SECRET, es, ESO_FINALIZER);
      released++;
      releasedUids.add(es.metadata.uid ?? '');
      process.stdout.write(`${out.green(opts.dryRun ? 'would release' : 'released')}  ${id}\n`);
    }
    process.stdout.write(`${released} ${opts.dryRun ? 'would be released' : 'released'}, ${kept} kept\n`);
    // Cluster-wide: a ClusterExternalSecret's ExternalSecrets may sit in namespaces not released yet (it is then kept).
    await releaseClusterExternalSecrets(kube, opts.dryRun === true, releasedUids, (line) => process.stdout.write(`${line}\n`));
    // Kept ones are what the runbook's next step must look at.
    return kept > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(`${err.red('error')}: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    await closeCluster();
  }
}
