// dataFrom key rewriting: each rewrite (a regexp replacement on RE2, or a
// template transform) applies to every key in turn; two keys that end up the
// same are an error, never a silent overwrite.
import { Reason } from '../api/reasons.js';
import type { DataFromEntry } from '../api/types.js';
import { RegexpError, compileLinear } from '../util/linear-regexp.js';
import { SyncError } from './sync-error.js';
import { render } from '../util/template-engine.js';

/** Remote names such as "team/db" become valid Secret keys ("team_db"); "." and ".." are not keys. */
export function toSecretKey(name: string): string {
  const key = name.replace(/[^-._a-zA-Z0-9]/g, '_');
  return key === '.' || key === '..' ? key.replace(/\./g, '_') : key;
}

function replaceAll(source: string, target: string, key: string, index: number): string {
  try {
    return compileLinear(source, `rewrite[${index}].regexp.source`).replaceAll(key, target);
  } catch (err) {
    if (err instanceof RegexpError) throw new SyncError(Reason.InvalidData, err.message, false);
    throw new SyncError(Reason.InvalidData, `rewrite[${index}].regexp.target refers to a group the source does not have`, false);
  }
}

/** A key transform renders its template with the key as `value`. */
async function transformKey(template: string, key: string, index: number): Promise<string> {
  try {
    return (await render(template, { value: key }, `rewrite[${index}].transform`)).trim();
  } catch (err) {
    throw new SyncError(Reason.TemplateError, (err as Error).message, false);
  }
}

export async function applyRewrites(values: Record<string, Uint8Array>, rewrites: DataFromEntry['rewrite']): Promise<Record<string, Uint8Array>> {
  if (!rewrites?.length) return values;
  const out: Record<string, Uint8Array> = {};
  const origin: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    let name = key;
    for (const [i, rewrite] of rewrites.entries()) {
      if (rewrite.regexp) name = replaceAll(rewrite.regexp.source, rewrite.regexp.target, name, i);
      if (rewrite.transform) name = await transformKey(rewrite.transform.template, name, i);
    }
    if (Object.hasOwn(out, name)) {
      throw new SyncError(Reason.InvalidData, `rewrite maps both "${origin[name]}" and "${key}" to key "${name}"`, false);
    }
    out[name] = value;
    origin[name] = key;
  }
  return out;
}
