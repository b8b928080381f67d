// A token bucket: the one rate limit behind retries, provider call budgets
// and the Event budget.
import { sleep } from './sleep.js';

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
