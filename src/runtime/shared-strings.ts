// A cache of 10,000 objects holds the same short strings 10,000 times over:
// JSON.parse shares property names but gives every value its own copy
// (namespace, apiVersion, kind, owner kinds, condition reasons and messages,
// store references). Measured on a restarted operator with 10,000
// ExternalSecrets: about 6 MiB of its 57 MiB heap.
//
// V8 keeps one internalized copy of every string used as a property name, in
// a table that lets strings no longer used go. Taking a value through a
// property name swaps a copy for that one instance. Only fields whose values
// repeat across objects are shared: inserting unique values (names, uids,
// timestamps) into that table saves nothing and costs CPU.

/** Fields whose values repeat across objects of a kind. */
const SHARED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'manager', 'operation', 'type', 'status', 'reason', 'message', 'key', 'property', 'secretKey', 'refreshInterval', 'version']);

/** Longer values (messages with details) are rarely shared. */
const MAX_SHARED_LENGTH = 128;

/** The one internalized instance of `value`. */
export const shared = (value: string): string => Object.keys({ [value]: 0 })[0]!;

/** Replaces, in place, the repeating string fields of `value` (objects and arrays, recursively) with their shared instance. */
export function shareStrings(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') shareStrings(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (typeof item === 'string') {
      if (item.length <= MAX_SHARED_LENGTH && SHARED_FIELDS.has(key)) record[key] = shared(item);
    } else if (item !== null && typeof item === 'object') shareStrings(item);
  }
}
