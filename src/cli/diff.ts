// `secretsync diff <files>` (with a kubeconfig): for each ExternalSecret, what
// would change in its Secret compared with the cluster: keys added, removed or
// changed (by digest, never values), type, labels and annotations. Exit code 2
// when anything differs, as `kubectl diff`.
import { createHash } from 'node:crypto';
import { HASH_ANNOTATION, LEASES_ANNOTATION } from '../api/names.js';
import { decodeSecretData } from '../secrets/data-hash.js';
import { SyncError } from '../secrets/sync-error.js';
import { Resources, type Secret } from '../kube/types.js';
import { errorMessage } from '../util/errors.js';
import { clusterClient, closeCluster, desiredFor, type CliContext } from './context.js';
import { styler } from './style.js';

/** Bookkeeping of the operator's, not part of what the user asked for. */
const IGNORED_ANNOTATIONS = new Set([HASH_ANNOTATION, LEASES_ANNOTATION, 'kubectl.kubernetes.io/last-applied-configuration']);

const digest = (v: Uint8Array) => `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;

function mapChanges(what: string, want: Record<string, string>, have: Record<string, string>, show: (v: string) => string): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want).sort()) {
    if (!(k in have)) out.push(`+ ${what} ${k}: ${show(want[k]!)}`);
    else if (have[k] !== want[k]) out.push(`~ ${what} ${k}: ${show(have[k]!)} -> ${show(want[k]!)}`);
  }
  for (const k of Object.keys(have).sort()) if (!(k in want)) out.push(`- ${what} ${k}: ${show(have[k]!)}`);
  return out;
}

export async function diff(files: string[], ctx: CliContext): Promise<number> {
  const s = styler(process.stdout);
  try {
    const kube = clusterClient({ ...ctx, useCluster: true })!;
    let differs = false;
    for (const { es, result } of await desiredFor(files, {}, { ...ctx, useCluster: true })) {
      const { name, namespace } = result.secret.metadata;
      const current = await kube.getOrUndefined<Secret>(Resources.Secret, namespace, name);
      const header = `Secret ${namespace}/${name} (ExternalSecret ${es.metadata.name})`;
      const want = Object.fromEntries(Object.entries(result.data).map(([k, v]) => [k, digest(v)]));
      if (!current) {
        differs = true;
        process.stdout.write(`${s.bold(header)}: would be created\n${Object.keys(want).sort().map((k) => s.green(`+ data ${k}: ${want[k]}`)).join('\n')}\n`);
        continue;
      }
      const have = Object.fromEntries(Object.entries(decodeSecretData(current.data)).map(([k, v]) => [k, digest(v)]));
      const keep = (m: Record<string, string> | undefined) => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !IGNORED_ANNOTATIONS.has(k)));
      const changes = [
        ...(result.secret.type && es.spec.target?.creationPolicy !== 'Merge' && (current.type ?? 'Opaque') !== result.secret.type ? [`~ type: ${current.type ?? 'Opaque'} -> ${result.secret.type}`] : []),
        // Merge writes only its own keys: the Secret's other keys and its type are not ours to show as removed.
        ...mapChanges('data', want, have, (v) => v).filter((line) => !(es.spec.target?.creationPolicy === 'Merge' && line.startsWith('-'))),
        ...mapChanges('label', result.secret.metadata.labels ?? {}, current.metadata.labels ?? {}, (v) => JSON.stringify(v)),
        ...mapChanges('annotation', keep(result.secret.metadata.annotations), keep(current.metadata.annotations), (v) => JSON.stringify(v)),
      ];
      if (changes.length === 0) {
        process.stdout.write(`${s.dim(`${header}: no changes`)}\n`);
        continue;
      }
      differs = true;
      const colour = (line: string) => (line.startsWith('+') ? s.green(line) : line.startsWith('-') ? s.red(line) : s.yellow(line));
      process.stdout.write(`${s.bold(header)}\n${changes.map(colour).join('\n')}\n`);
    }
    return differs ? 2 : 0;
  } catch (err) {
    const reason = err instanceof SyncError ? ` (${err.reason})` : '';
    process.stderr.write(`diff failed${reason}: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    await closeCluster();
  }
}
