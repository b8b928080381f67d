import { describe, expect, it } from 'vitest';
import { ExponentialBackoff, RetryRateLimiter, withJitter } from '../../src/runtime/backoff.js';
import { TokenBucket } from '../../src/util/token-bucket.js';

describe('retry limits', () => {
  it('doubles per key up to the cap and forgets', () => {
    const b = new ExponentialBackoff(1000, 5000);
    expect([b.when('k'), b.when('k'), b.when('k'), b.when('k')]).toEqual([1000, 2000, 4000, 5000]);
    expect(b.when('other')).toBe(1000);
    b.forget('k');
    expect(b.when('k')).toBe(1000);
  });

  it('token bucket allows a burst, then spaces calls at qps', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 2, () => now);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(100);
    now = 1000;
    expect(bucket.reserve()).toBe(0);
  });

  it('a storm of failures is held back by the overall bucket', () => {
    const now = 0;
    const limiter = new RetryRateLimiter(new ExponentialBackoff(10, 1000), new TokenBucket(1, 1, () => now));
    const delays = Array.from({ length: 5 }, (_, i) => limiter.when(`key-${i}`));
    expect(delays[0]).toBe(10);
    expect(delays[4]).toBeGreaterThanOrEqual(4000);
  });

  it('jitter only ever adds, within the fraction', () => {
    expect(withJitter(1000, 0.1, () => 0)).toBe(1000);
    expect(withJitter(1000, 0.1, () => 0.999)).toBe(1099);
  });
});

describe('TokenBucket.tryTake', () => {
  it('takes while tokens last, then refuses until they refill', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    now = 500; // one token back at 2/s
    expect([bucket.tryTake(), bucket.tryTake()]).toEqual([true, false]);
  });
});
