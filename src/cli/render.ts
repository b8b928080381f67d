// `secretsync render <externalsecret.yaml> --store <store.yaml>`: the Secret
// the ExternalSecret would produce, values masked unless --show-values.
// `--values <file>` renders templates from given values, with no provider.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify } from 'yaml';
import { HASH_ANNOTATION } from '../api/names.js';
import { errorMessage } from '../util/errors.js';
import { SyncError } from '../secrets/sync-error.js';
import { desiredFor, type CliContext } from './context.js';
import { utf8Text } from '../util/text.js';

/** Valid UTF-8 without control characters other than whitespace. */
function isText(v: Uint8Array): boolean {
  const s = utf8Text(v);
  return s !== undefined && [...s].every((ch) => ch >= ' ' || ch === '\n' || ch === '\r' || ch === '\t');
}

/** What is printed for a value: its size and a short digest, never the value. */
export function masked(value: Uint8Array): string {
  return `<masked: ${value.byteLength} bytes, sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}>`;
}

export async function render(file: string, opts: { store?: string; values?: string; showValues?: boolean; namespace?: string; kubeconfig?: string }, ctx: CliContext): Promise<number> {
  try {
    const values = opts.values ? (parseYaml(await readFile(opts.values, 'utf8')) as Record<string, string>) : undefined;
    if (values !== undefined && (typeof values !== 'object' || values === null || Array.isArray(values))) throw new Error(`${opts.values}: expected a map of key: value`);
    const results = await desiredFor([file], opts, ctx, values);
    for (const [i, { es, result }] of results.entries()) {
      const secret = structuredClone(result.secret);
      // The keyed hash is made with a throwaway key here, and the owner's uid is the cluster's to give.
      delete secret.metadata.annotations?.[HASH_ANNOTATION];
      for (const owner of secret.metadata.ownerReferences ?? []) owner.uid = '<uid of the ExternalSecret>';
      secret.data = Object.fromEntries(Object.entries(result.data).map(([k, v]) => [k, opts.showValues ? Buffer.from(v).toString('base64') : masked(v)]));
      if (opts.showValues) {
        // Readable text where the value is text; data stays base64 as kubectl shows it.
        const text = Object.entries(result.data).filter(([, v]) => isText(v));
        (secret as { stringData?: Record<string, string> }).stringData = Object.fromEntries(text.map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
        for (const [k] of text) delete secret.data[k];
        if (Object.keys(secret.data).length === 0) delete secret.data;
      }
      process.stdout.write(`${i > 0 ? '---\n' : ''}# from ExternalSecret ${es.metadata.namespace ?? 'default'}/${es.metadata.name}\n${stringify(secret)}`);
    }
    return 0;
  } catch (err) {
    const reason = err instanceof SyncError ? ` (${err.reason})` : '';
    process.stderr.write(`render failed${reason}: ${errorMessage(err)}\n`);
    return 1;
  }
}

