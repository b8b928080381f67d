// Fetches everything an ExternalSecret asks for, through the store's shared
// client: `data` as one batch, then each `dataFrom` entry. Returns bytes per
// Secret key, and provenance (never values) for status.
import type { DataFromEntry, ExternalSecretSpec } from '../../api/types.js';
import { NotFoundError, PermissionDeniedError, StoreConfigError, ThrottledError } from '../../providers/errors.js';
import type { RemoteValues, SourceInfo } from '../../providers/provider.js';
import type { ReadOptions, StoreClient } from '../../providers/store-clients.js';
import { DecodingError, decodeValue } from './decoding.js';
import { Reason, SyncError } from './reasons.js';
import { render } from './template/engine.js';

export interface FetchedData {
  data: Record<string, Uint8Array>;
  sources: SourceInfo[];
}

/** Remote names such as "team/db" become valid Secret keys ("team_db"); "." and ".." are not keys. */
export function toSecretKey(name: string): string {
  const key = name.replace(/[^-._a-zA-Z0-9]/g, '_');
  return key === '.' || key === '..' ? key.replace(/\./g, '_') : key;
}

function compileRegexp(source: string, index: number): RegExp {
  try {
    return new RegExp(source, 'g');
  } catch {
    throw new SyncError(Reason.InvalidData, `rewrite[${index}].regexp.source is not a valid regular expression`, false);
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
      if (rewrite.regexp) name = name.replace(compileRegexp(rewrite.regexp.source, i), rewrite.regexp.target);
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

/** Maps a provider failure to a status reason; messages stay free of values. */
export function classify(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NotFoundError) return new SyncError(Reason.RemoteNotFound, message, true, { cause: err });
  if (err instanceof PermissionDeniedError) return new SyncError(Reason.PermissionDenied, message, true, { cause: err });
  if (err instanceof ThrottledError) return new SyncError(Reason.Throttled, message, true, { cause: err });
  if (err instanceof StoreConfigError) return new SyncError(Reason.ProviderError, message, false, { cause: err });
  if (err instanceof DecodingError) return new SyncError(Reason.InvalidData, message, false, { cause: err });
  return new SyncError(Reason.ProviderError, `provider call failed: ${message}`, true, { cause: err });
}

/** Thrown when remote secrets are missing; `all` when nothing at all was found. */
export class RemoteMissing extends SyncError {
  constructor(
    readonly missing: NotFoundError[],
    readonly all: boolean,
  ) {
    super(Reason.RemoteNotFound, [...new Set(missing.map((e) => e.message))].join('; '), true);
  }
}

async function fetchDataFrom(client: StoreClient, entry: DataFromEntry, opts: ReadOptions): Promise<RemoteValues> {
  if (entry.extract) return client.getSecretMap(entry.extract, opts);
  if (entry.find) {
    const found = await client.findSecrets(entry.find, opts);
    const values: Record<string, Uint8Array> = {};
    for (const [name, value] of Object.entries(found.values)) values[toSecretKey(name)] = value;
    return { values, sources: found.sources };
  }
  throw new SyncError(Reason.InvalidData, 'dataFrom entry has neither extract nor find', false);
}

export async function fetchData(client: StoreClient, spec: ExternalSecretSpec, opts: ReadOptions): Promise<FetchedData> {
  const data: Record<string, Uint8Array> = {};
  const sources: SourceInfo[] = [];
  const missing: NotFoundError[] = [];
  let requested = 0;

  for (const entry of spec.dataFrom ?? []) {
    requested++;
    let fetched: RemoteValues;
    try {
      fetched = await fetchDataFrom(client, entry, opts);
    } catch (err) {
      if (err instanceof NotFoundError) {
        missing.push(err);
        continue;
      }
      throw classify(err);
    }
    const strategy = entry.extract?.decodingStrategy ?? entry.find?.decodingStrategy;
    const rewritten = await applyRewrites(fetched.values, entry.rewrite);
    for (const [key, value] of Object.entries(rewritten)) {
      if (Object.hasOwn(data, key)) throw new SyncError(Reason.InvalidData, `two dataFrom entries produce key "${key}"`, false);
      data[key] = decodeOrFail(value, strategy, key);
    }
    sources.push(...fetched.sources);
  }

  const refs = spec.data ?? [];
  if (refs.length > 0) {
    requested += refs.length;
    const results = await client.getSecrets(refs.map((d) => d.remoteRef), opts);
    results.forEach((result, i) => {
      const item = refs[i]!;
      if (result instanceof NotFoundError) return void missing.push(result);
      if (result instanceof Error) throw classify(result);
      // Explicit data entries override keys from dataFrom.
      data[item.secretKey] = decodeOrFail(result.value, item.remoteRef.decodingStrategy, item.secretKey);
      sources.push(result.source);
    });
  }

  if (missing.length > 0) throw new RemoteMissing(missing, missing.length === requested);
  return { data, sources };
}

function decodeOrFail(value: Uint8Array, strategy: Parameters<typeof decodeValue>[1], key: string): Uint8Array {
  try {
    return decodeValue(value, strategy, key);
  } catch (err) {
    throw classify(err);
  }
}
