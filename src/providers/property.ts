// Picks a field out of a JSON value: `property` is a dotted path
// ("db.password", "hosts.0"); a key that itself contains dots is tried whole first.
import { NotFoundError, StoreConfigError } from './errors.js';
import { MAX_MAP_KEYS, RemoteTooLargeError } from './response-limit.js';
import type { RemoteRef } from '../api/types.js';
import type { RemoteValue, RemoteValues } from './provider.js';

const encoder = new TextEncoder();

export function parseJsonObject(value: Uint8Array, key: string): unknown {
  try {
    return JSON.parse(Buffer.from(value).toString('utf8')) as unknown;
  } catch {
    // Never include the value: it is the secret.
    throw new NotFoundError(key, 'value is not valid JSON');
  }
}

function lookup(node: unknown, path: string): unknown {
  if (node === null || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  if (Object.hasOwn(record, path)) return record[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  for (let i = dot; i >= 0 && i < path.length; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (Object.hasOwn(record, head)) {
      const found = lookup(record[head], path.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Bytes of a JSON leaf: strings as-is, everything else as JSON. */
export function toBytes(node: unknown): Uint8Array {
  return encoder.encode(typeof node === 'string' ? node : JSON.stringify(node));
}

export function extractProperty(value: Uint8Array, key: string, property: string): Uint8Array {
  const found = lookup(parseJsonObject(value, key), property);
  if (found === undefined) throw new NotFoundError(key, `property "${property}" not found`);
  return toBytes(found);
}

/** A JSON object value as a map of its top-level keys. */
export function valueToMap(value: Uint8Array, key: string, property?: string): Record<string, Uint8Array> {
  const node = property ? lookup(parseJsonObject(value, key), property) : parseJsonObject(value, key);
  if (node === undefined) throw new NotFoundError(key, `property "${property}" not found`);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new NotFoundError(key, 'value is not a JSON object, so it cannot be extracted into keys');
  }
  const entries = Object.entries(node as Record<string, unknown>);
  if (entries.length > MAX_MAP_KEYS) {
    throw new RemoteTooLargeError(`remote secret "${key}" has ${entries.length} keys, more than the ${MAX_MAP_KEYS} one value may spread into`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of entries) out[k] = toBytes(v);
  return out;
}

/** A whole remote value as `ref` asks for it: the value, or its `property`. */
export function valueFor(ref: RemoteRef, whole: RemoteValue): RemoteValue {
  return ref.property ? { value: extractProperty(whole.value, ref.key, ref.property), source: whole.source } : whole;
}

/** A whole remote value as a map of keys (at `ref.property` when set). */
export function mapFor(ref: RemoteRef, whole: RemoteValue): RemoteValues {
  return { values: valueToMap(whole.value, ref.key, ref.property), sources: [whole.source] };
}

/**
 * A pushed value for a provider whose secrets are maps of keys (Vault KV,
 * Kubernetes Secrets): it must be a JSON object. `what` names the secret kind
 * in the refusal ("a Vault secret").
 */
export function pushedMap(value: Uint8Array, key: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StoreConfigError(`${what} is a map of keys: push to "${key}" with remoteRef.property set, or push a whole Secret`);
  }
  return parsed as Record<string, unknown>;
}
