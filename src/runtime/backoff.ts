// Retry delays: per-key exponential backoff, bounded by an overall token
// bucket so a burst of failures cannot turn into a burst of retries
// (client-go's default controller rate limiter, in spirit).
import type { TokenBucket } from '../util/token-bucket.js';

export interface RetryLimiter {
  /** Delay before the next retry of key; counts the failure. */
  when(key: string): number;
  forget(key: string): void;
}

export class ExponentialBackoff implements RetryLimiter {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  when(key: string): number {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(key: string): void {
    this.counts.delete(key);
  }
}

/** Max of a per-key backoff and an overall bucket. */
export class RetryRateLimiter implements RetryLimiter {
  constructor(
    private readonly perKey: RetryLimiter,
    private readonly overall: TokenBucket,
  ) {}
  when(key: string): number {
    return Math.max(this.perKey.when(key), this.overall.reserve());
  }
  forget(key: string): void {
    this.perKey.forget(key);
  }
}

/** Adds up to `fraction` of ms at random, so timers set together do not fire together. */
export function withJitter(ms: number, fraction: number, random: () => number = Math.random): number {
  return ms + Math.floor(ms * fraction * random());
}
