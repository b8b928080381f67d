// When to fetch again. The next refresh is the earliest of:
// - the refresh interval;
// - shortly before a lease ends (fetching again yields a fresh value): a
//   margin of a third of the remaining lifetime, between 5 s and 10 min;
// - shortly before a stored value's own expiry date, in case its owner has
//   replaced it by then; once that date has passed, fetching again yields the
//   same stale value, so it no longer schedules anything and is reported
//   (`expired`) instead;
// - shortly after a scheduled rotation that is still ahead.
// The interval's refresh goes to the store's beat when the caller gives one
// (refresh-beat.ts), so that ExternalSecrets of one store refresh together.
// Jitter spreads the other refreshes that were set together and never pushes
// a refresh past a lease end. No date-driven refresh comes sooner than a floor
// (5 s, or the refresh interval when that is shorter), so no date can cause a
// hot loop; a beat is at least a quarter interval away by construction.
import { expiryMargin } from '../../providers/freshness.js';
import type { SourceInfo } from '../../providers/provider.js';

export const ROTATION_GRACE_MS = 30_000;
export const FLOOR_MS = 5_000;

export interface Schedule {
  /** ms from now; undefined when nothing asks for another refresh. */
  delayMs?: number;
  cause?: 'interval' | 'lease' | 'expiry' | 'rotation';
  /** Sources whose own expiry date has passed. */
  expired: SourceInfo[];
}

export function nextRefresh(
  intervalMs: number,
  sources: SourceInfo[],
  now: number,
  random: () => number = Math.random,
  /** When the interval's refresh is due on the store's beat (instead of the interval from now, jittered). */
  intervalDueAt?: number,
): Schedule {
  const candidates: Array<{ at: number; cause: NonNullable<Schedule['cause']>; jitterRoom: number }> = [];
  const expired: SourceInfo[] = [];
  if (intervalMs > 0) {
    candidates.push(intervalDueAt !== undefined
      ? { at: intervalDueAt, cause: 'interval', jitterRoom: 0 }
      : { at: now + intervalMs, cause: 'interval', jitterRoom: Math.min(intervalMs * 0.1, 5 * 60_000) });
  }
  for (const s of sources) {
    if (s.leaseEndsAt) {
      const margin = expiryMargin(s.leaseEndsAt.getTime() - now);
      candidates.push({ at: s.leaseEndsAt.getTime() - margin, cause: 'lease', jitterRoom: margin / 2 });
    }
    if (s.expiresAt) {
      const remaining = s.expiresAt.getTime() - now;
      if (remaining <= 0) expired.push(s);
      else {
        const margin = expiryMargin(remaining);
        candidates.push({ at: s.expiresAt.getTime() - margin, cause: 'expiry', jitterRoom: margin / 2 });
      }
    }
    if (s.rotatesAt && s.rotatesAt.getTime() + ROTATION_GRACE_MS > now) {
      candidates.push({ at: s.rotatesAt.getTime() + ROTATION_GRACE_MS, cause: 'rotation', jitterRoom: ROTATION_GRACE_MS });
    }
  }
  if (candidates.length === 0) return { expired };
  const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  const delay = first.at - now + Math.floor(first.jitterRoom * random());
  const floor = first.cause === 'interval' && intervalDueAt !== undefined
    ? Math.min(FLOOR_MS, intervalMs / 4)
    : intervalMs > 0 ? Math.min(FLOOR_MS, intervalMs) : FLOOR_MS;
  return { delayMs: Math.max(floor, delay), cause: first.cause, expired };
}

/** Requeue at the next refresh time recorded in status (nothing when none is). */
export function requeueAtNextRefresh(es: { status?: { nextRefreshTime?: string } }, now: number): { requeueAfterMs: number } | undefined {
  const next = es.status?.nextRefreshTime;
  if (next === undefined) return undefined;
  return { requeueAfterMs: Math.max(0, Date.parse(next) - now) };
}
