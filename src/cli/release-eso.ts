// `secretsync release-eso`: the last step of an in-place cutover. ESO v2 puts
// a finalizer on each of its ExternalSecrets that only a running ESO removes,
// so once ESO is stopped its ExternalSecrets cannot be deleted. This releases
// (removes the finalizer and deletes) exactly those whose Secret secretsync
// now holds: our label and owner annotation, an ExternalSecret of ours by
// that name, and none of ESO's marks left. Any other is kept and said why, so
// a Secret ESO still owns is never handed to the garbage collector.
import { carriesEsoMarks, ESO_EXTERNAL_SECRET, ESO_FINALIZER } from '../api/eso.js';
import { MANAGED_LABEL, OWNER_ANNOTATION } from '../api/names.js';
import type { ExternalSecret } from '../api/types.js';
import { isNotFound, type KubeClient } from '../kube/client.js';
import { Resources, type KubeObject } from '../kube/types.js';
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

async function release(kube: KubeClient, es: EsoExternalSecret): Promise<void> {
  const { namespace, name, uid } = es.metadata;
  // Deleting first: a running ESO that re-adds its finalizer in between then cleans up itself.
  if (!es.metadata.deletionTimestamp) await kube.delete(ESO_EXTERNAL_SECRET, namespace, name, { uid });
  const current = await kube.getOrUndefined<EsoExternalSecret>(ESO_EXTERNAL_SECRET, namespace, name);
  const index = current?.metadata.finalizers?.indexOf(ESO_FINALIZER) ?? -1;
  if (!current || index < 0) return;
  await kube.jsonPatch(ESO_EXTERNAL_SECRET, namespace, name, [
    { op: 'test', path: `/metadata/finalizers/${index}`, value: ESO_FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ]);
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
    for (const es of items) {
      const id = `${ESO_EXTERNAL_SECRET.plural}.${ESO_EXTERNAL_SECRET.group}/${es.metadata.name} -n ${es.metadata.namespace}`;
      const why = await whyKept(kube, es);
      if (why) {
        kept++;
        process.stdout.write(`${out.yellow('kept')}      ${id}: ${why}\n`);
        continue;
      }
      if (!opts.dryRun) await release(kube, es);
      released++;
      process.stdout.write(`${out.green(opts.dryRun ? 'would release' : 'released')}  ${id}\n`);
    }
    process.stdout.write(`${released} ${opts.dryRun ? 'would be released' : 'released'}, ${kept} kept\n`);
    // Kept ones are what the runbook's next step must look at.
    return kept > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(`${err.red('error')}: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    await closeCluster();
  }
}
