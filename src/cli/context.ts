// What render and diff share: the ExternalSecrets in the files, the store each
// one names (from the files, or the cluster when one is asked for), and the
// Secret each would produce.
import { KubeConfig } from '@kubernetes/client-node';
import type { AnyStore, ExternalSecret } from '../api/types.js';
import { KubeClient } from '../kube/client.js';
import { Resources, type KubeObject } from '../kube/types.js';
import { desiredSecret, ObjectSource, type DesiredResult, type GivenValues } from './desired.js';
import { readManifests } from './manifests.js';

export interface CliContext {
  /** Set for commands that use a cluster (diff), or when --kubeconfig is given. */
  useCluster: boolean;
  kubeconfig?: string;
  namespace?: string;
}

let client: KubeClient | undefined;

/** The kubeconfig of --kubeconfig, or the default one; undefined when the command uses no cluster. */
function kubeConfig(ctx: CliContext): KubeConfig | undefined {
  if (!ctx.useCluster && !ctx.kubeconfig) return undefined;
  if (client) return client.config;
  const kc = new KubeConfig();
  if (ctx.kubeconfig) kc.loadFromFile(ctx.kubeconfig);
  else kc.loadFromDefault();
  client = new KubeClient(kc);
  return kc;
}

/** The cluster of --kubeconfig, or of the current kubeconfig context. */
export function clusterClient(ctx: CliContext): KubeClient | undefined {
  return kubeConfig(ctx) && client;
}

export async function closeCluster(): Promise<void> {
  await client?.close();
  client = undefined;
}

/** The namespace an object without one would be applied into. */
export function defaultNamespace(ctx: CliContext): string {
  if (ctx.namespace) return ctx.namespace;
  const kc = kubeConfig(ctx);
  return kc?.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

export async function desiredFor(files: string[], opts: { store?: string }, ctx: CliContext, values?: GivenValues): Promise<Array<{ es: ExternalSecret; result: DesiredResult }>> {
  const { manifests, problems } = await readManifests([...files, ...(opts.store ? [opts.store] : [])]);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  const namespace = defaultNamespace(ctx);
  const objects = manifests.map((m) => {
    const obj = m.obj as unknown as KubeObject;
    if (obj.kind !== 'ClusterSecretStore' && !obj.metadata.namespace) obj.metadata = { ...obj.metadata, namespace };
    return obj;
  });
  const externalSecrets = objects.filter((o): o is ExternalSecret => o.kind === 'ExternalSecret' && String(o.apiVersion).startsWith('secretsync.dev/'));
  if (externalSecrets.length === 0) throw new Error(`no secretsync ExternalSecret in ${files.join(', ')}`);
  const cluster = clusterClient(ctx);
  const sources = new ObjectSource(objects, cluster);
  const out: Array<{ es: ExternalSecret; result: DesiredResult }> = [];
  for (const es of externalSecrets) {
    const ref = es.spec.secretStoreRef;
    // Only generators: nothing to read through, they run here.
    if (!ref) {
      out.push({ es, result: await desiredSecret(es, undefined, sources, values) });
      continue;
    }
    const kind = ref.kind ?? 'SecretStore';
    const type = kind === 'ClusterSecretStore' ? Resources.ClusterSecretStore : Resources.SecretStore;
    const store = values ? undefined : await sources.get<AnyStore>(type, kind === 'ClusterSecretStore' ? undefined : es.metadata.namespace, ref.name);
    if (!values && !store) throw new Error(`${kind} "${ref.name}" for ExternalSecret "${es.metadata.name}" is in none of the files${cluster ? ' and not in the cluster' : ' (pass --store <file>, or --kubeconfig to read it from a cluster)'}`);
    out.push({ es, result: await desiredSecret(es, store, sources, values) });
  }
  return out;
}
