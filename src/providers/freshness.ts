// How long a value with a lease end or an expiry date stays good to use:
// the refresh schedule refreshes a margin before the date, and a shared read
// may serve other readers only until a little before that refresh, or the
// refresh would be answered with the same ending value.
import type { SourceInfo } from './provider.js';

const MIN_MARGIN_MS = 5_000;
const MAX_MARGIN_MS = 10 * 60_000;
const REUSE_GUARD_MS = 1_000;

/** A third of the remaining life, between 5 s and 10 min. */
export function expiryMargin(remainingMs: number): number {
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, remainingMs / 3));
}

/** Until when an answer given at `at` may be shared (Infinity when its sources carry no dates ahead). */
export function reusableUntil(sources: SourceInfo[], at: number): number {
  let until = Infinity;
  for (const s of sources) {
    for (const date of [s.leaseEndsAt, s.expiresAt]) {
      const end = date?.getTime();
      if (end === undefined || end <= at) continue;
      until = Math.min(until, end - expiryMargin(end - at) - REUSE_GUARD_MS);
    }
  }
  return until;
}
