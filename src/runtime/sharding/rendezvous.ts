// Which member a bucket belongs to: rendezvous (highest random weight)
// hashing, a form of consistent hashing. Each bucket goes to the member whose
// hash with it is highest, so a member that joins takes about 1/N of the
// buckets (only those it now wins) and one that leaves gives up only its own;
// no ring of virtual nodes needs tuning for an even spread.
import { createHash } from 'node:crypto';

function weight(member: string, bucket: number): bigint {
  return createHash('sha256').update(`${member}\0${bucket}`).digest().readBigUInt64BE(0);
}

/** bucket -> member, for every bucket below `count`; empty without members. */
export function assignBuckets(members: Iterable<string>, count: number): Map<number, string> {
  const list = [...new Set(members)].sort();
  const out = new Map<number, string>();
  if (list.length === 0) return out;
  for (let bucket = 0; bucket < count; bucket++) {
    let best = list[0]!;
    let bestWeight = weight(best, bucket);
    for (const member of list.slice(1)) {
      const w = weight(member, bucket);
      if (w > bestWeight) [best, bestWeight] = [member, w];
    }
    out.set(bucket, best);
  }
  return out;
}
