// Fetches everything an ExternalSecret asks for, through the store's shared
// client: each `dataFrom` entry in order (a generator's entry takes its
// values as generated.ts settled them), then `data` as one batch (explicit
// `data` keys override keys from dataFrom). Returns bytes per Secret key, and
// provenance (never values) for status.
import { Reason } from '../api/reasons.js';
import type { DataFromEntry, ExternalSecretSpec, FindRef } from '../api/types.js';
import { NotFoundError } from '../providers/errors.js';
import type { RemoteValues, SourceInfo } from '../providers/provider.js';
import type { ReadOptions, StoreClient } from '../providers/store-client.js';
import { decodeValue } from './decoding.js';
import { toSyncError } from './errors.js';
import type { GeneratedValues, GeneratorUse } from './generated-values.js';
import { applyRewrites, toSecretKey } from './rewrite.js';
import { SyncError } from './sync-error.js';

export interface FetchedData {
  data: Record<string, Uint8Array>;
  sources: SourceInfo[];
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

function describeFind(find: FindRef): string {
  const parts = [find.path && `path ${find.path}`, find.name && `name ${find.name.regexp}`, find.tags && `tags ${JSON.stringify(find.tags)}`];
  return `find(${parts.filter(Boolean).join(', ')})`;
}

/** The generator entries of a spec, by the slot their state is kept under. */
export function generatorUses(spec: ExternalSecretSpec): GeneratorUse[] {
  return (spec.dataFrom ?? []).flatMap((e, i) => (e.sourceRef ? [{ slot: `dataFrom[${i}]`, ref: e.sourceRef.generatorRef }] : []));
}

async function fetchDataFrom(client: StoreClient | undefined, entry: DataFromEntry, slot: string, opts: ReadOptions, generated: Map<string, GeneratedValues>): Promise<RemoteValues> {
  if (entry.sourceRef) {
    const made = generated.get(slot);
    if (!made) throw new SyncError(Reason.GeneratorError, `${slot}: generator not run`, true);
    const ref = entry.sourceRef.generatorRef;
    return { values: made.values, sources: [{ key: `${ref.kind}/${ref.name}`, rotatesAt: made.renewAt !== undefined ? new Date(made.renewAt) : undefined }] };
  }
  if (!client) throw new SyncError(Reason.StoreNotFound, 'this entry reads a store, and spec.secretStoreRef is not set', false);
  if (entry.extract) return client.getSecretMap(entry.extract, opts);
  if (entry.find) {
    const found = await client.findSecrets(entry.find, opts);
    const values: Record<string, Uint8Array> = {};
    for (const [name, value] of Object.entries(found.values)) values[toSecretKey(name)] = value;
    // Nothing matching is the remote secrets being gone, as for extract (deletionPolicy Delete acts on it).
    if (Object.keys(values).length === 0) throw new NotFoundError(describeFind(entry.find), 'no remote secret matches');
    return { values, sources: found.sources };
  }
  throw new SyncError(Reason.InvalidData, 'dataFrom entry has neither extract nor find', false);
}

export async function fetchData(client: StoreClient | undefined, spec: ExternalSecretSpec, opts: ReadOptions, generated = new Map<string, GeneratedValues>()): Promise<FetchedData> {
  const data: Record<string, Uint8Array> = {};
  const sources: SourceInfo[] = [];
  const missing: NotFoundError[] = [];
  let requested = 0;

  for (const [i, entry] of (spec.dataFrom ?? []).entries()) {
    requested++;
    let fetched: RemoteValues;
    try {
      fetched = await fetchDataFrom(client, entry, `dataFrom[${i}]`, opts, generated);
    } catch (err) {
      if (err instanceof NotFoundError) {
        missing.push(err);
        continue;
      }
      throw toSyncError(err);
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
    if (!client) throw new SyncError(Reason.StoreNotFound, 'spec.data reads a store, and spec.secretStoreRef is not set', false);
    requested += refs.length;
    const results = await client.getSecrets(refs.map((d) => d.remoteRef), opts);
    results.forEach((result, i) => {
      const item = refs[i]!;
      if (result instanceof NotFoundError) return void missing.push(result);
      if (result instanceof Error) throw toSyncError(result);
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
    throw toSyncError(err);
  }
}
