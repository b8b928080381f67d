// Retry delays: per-key exponential backoff, bounded by an overall token
// bucket so a burst of failures cannot turn into a burst of retries
// (client-go's default controller rate limiter, in spirit).

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

/** Token bucket: refills at qps up to burst; `reserve` says how long to wait for one token. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private holdUntil = 0;
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a token (possibly going into debt) and returns the wait in ms before using it. */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    const wait = this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
    return Math.max(wait, this.holdUntil - now);
  }

  /** Takes a token if one is there now; false (and nothing taken) otherwise. */
  tryTake(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1 || now < this.holdUntil) return false;
    this.tokens -= 1;
    return true;
  }

  /** Lets nothing through for ms (the provider asked us to slow down). */
  hold(ms: number): void {
    this.holdUntil = Math.max(this.holdUntil, this.now() + ms);
  }

  /** Waits until a token is available. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await sleep(wait, signal);
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

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Adds up to `fraction` of ms at random, so timers set together do not fire together. */
export function withJitter(ms: number, fraction: number, random: () => number = Math.random): number {
  return ms + Math.floor(ms * fraction * random());
}
