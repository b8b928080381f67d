// When to fetch again. The next refresh is the earliest of the refresh
// interval and what the provider said about its values: shortly before an
// expiry (a margin of a third of the remaining lifetime, between 5 s and
// 10 min) or shortly after a scheduled rotation. Jitter spreads refreshes
// that were set together, and never pushes a refresh past an expiry.
import type { SourceInfo } from '../../providers/provider.js';

export const ROTATION_GRACE_MS = 30_000;
const MIN_MARGIN_MS = 5_000;
const MAX_MARGIN_MS = 10 * 60_000;
const MIN_DELAY_MS = 1_000;

export interface Schedule {
  /** ms from now; undefined when nothing asks for another refresh. */
  delayMs?: number;
  cause?: 'interval' | 'expiry' | 'rotation';
}

export function expiryMargin(remainingMs: number): number {
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, remainingMs / 3));
}

export function nextRefresh(
  intervalMs: number,
  sources: SourceInfo[],
  now: number,
  random: () => number = Math.random,
): Schedule {
  const candidates: Array<{ at: number; cause: NonNullable<Schedule['cause']>; jitterRoom: number }> = [];
  if (intervalMs > 0) candidates.push({ at: now + intervalMs, cause: 'interval', jitterRoom: Math.min(intervalMs * 0.1, 5 * 60_000) });
  for (const s of sources) {
    if (s.expiresAt) {
      const remaining = s.expiresAt.getTime() - now;
      const margin = expiryMargin(remaining);
      candidates.push({ at: s.expiresAt.getTime() - margin, cause: 'expiry', jitterRoom: margin / 2 });
    }
    if (s.rotatesAt) candidates.push({ at: s.rotatesAt.getTime() + ROTATION_GRACE_MS, cause: 'rotation', jitterRoom: ROTATION_GRACE_MS });
  }
  if (candidates.length === 0) return {};
  const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  const delay = first.at - now + Math.floor(first.jitterRoom * random());
  return { delayMs: Math.max(MIN_DELAY_MS, delay), cause: first.cause };
}
