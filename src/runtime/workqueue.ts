// A work queue of keys. Many adds of one key collapse into one pending item;
// a key is never handed to two workers at once, and a key re-added while it
// is being processed runs again once it is done. Two lanes: `urgent` (a new
// or changed object) always goes before `routine` (a scheduled refresh), so
// new ExternalSecrets do not wait behind thousands of refreshes.
import { DelayedKeys } from './delayed-keys.js';

export type Lane = 'urgent' | 'routine';

export class WorkQueue {
  private readonly lanes: Record<Lane, string[]> = { urgent: [], routine: [] };
  private readonly heads: Record<Lane, number> = { urgent: 0, routine: 0 };
  /** Keys waiting to be processed, with the lane they wait in. */
  private readonly dirty = new Map<string, Lane>();
  private readonly processing = new Set<string>();
  private readonly delayed = new DelayedKeys<Lane>((key, lane) => this.add(key, lane));
  private waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  add(key: string, lane: Lane = 'urgent'): void {
    if (this.shuttingDown) return;
    const waiting = this.dirty.get(key);
    if (waiting === 'urgent' || waiting === lane) return;
    this.dirty.set(key, lane);
    if (this.processing.has(key)) return; // re-queued by done()
    if (waiting === 'routine') {
      // Promote: the stale routine entry is skipped when popped.
      this.push(key, 'urgent');
      return;
    }
    this.push(key, lane);
  }

  /** Adds key after ms; an earlier pending schedule for the key wins. */
  addAfter(key: string, ms: number, lane: Lane = 'routine'): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key, lane);
    const at = Date.now() + ms;
    const existing = this.delayed.dueAt(key);
    if (existing !== undefined && existing <= at) return;
    this.delayed.schedule(key, at, lane);
  }

  /** Drops any scheduled add of key (the object is gone). */
  cancel(key: string): void {
    this.delayed.cancel(key);
  }

  /** Next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.pop();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    const lane = this.dirty.get(key);
    if (lane) this.push(key, lane);
  }

  shutdown(): void {
    this.shuttingDown = true;
    this.delayed.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  get length(): number {
    return this.dirty.size;
  }

  private push(key: string, lane: Lane): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.lanes[lane].push(key);
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }

  private pop(): string | undefined {
    for (const lane of ['urgent', 'routine'] as const) {
      const items = this.lanes[lane];
      while (this.heads[lane] < items.length) {
        const key = items[this.heads[lane]++]!;
        // Skip entries that were promoted, already taken, or are running.
        if (this.dirty.get(key) !== lane || this.processing.has(key)) continue;
        this.take(key);
        this.compact(lane);
        return key;
      }
      this.compact(lane);
    }
    return undefined;
  }

  private compact(lane: Lane): void {
    if (this.heads[lane] > 1024 && this.heads[lane] * 2 > this.lanes[lane].length) {
      this.lanes[lane] = this.lanes[lane].slice(this.heads[lane]);
      this.heads[lane] = 0;
    }
  }
}
