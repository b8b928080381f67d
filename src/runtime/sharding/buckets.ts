// Namespaces fall into a fixed number of buckets by a hash of their name; the
// replicas share the buckets, not the namespaces. The bucket is written once
// on each ExternalSecret and managed Secret as a label, so a replica selects
// its slice with one label selector, and a bucket changes hands without any
// object being written again.
import { SHARD_LABEL } from '../../api/names.js';

/** Buckets a ring has: enough for an even spread over tens of replicas, few enough for one label selector. */
export const BUCKET_COUNT = 256;

/** FNV-1a, 32 bits: stable across processes and versions, and cheap. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function bucketOf(namespace: string): number {
  return fnv1a(namespace) % BUCKET_COUNT;
}

/** "0-3,7,9-10": a bucket set as a Lease annotation holds it. */
export function formatBuckets(buckets: Iterable<number>): string {
  const sorted = [...new Set(buckets)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The inverse of formatBuckets; what is not a bucket number is ignored. */
export function parseBuckets(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = Math.min(Number(m[2] ?? m[1]), BUCKET_COUNT - 1);
    for (let b = from; b <= to; b++) out.add(b);
  }
  return out;
}

/** A label selector for the objects of these buckets (none: a value no object carries). */
export function bucketSelector(buckets: Iterable<number>): string {
  const values = [...buckets].sort((a, b) => a - b);
  return `${SHARD_LABEL} in (${values.length > 0 ? values.join(',') : 'none'})`;
}
