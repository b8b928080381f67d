// A work queue of keys. Many adds of one key collapse into one pending item;
// a key is never handed to two workers at once, and a key re-added while it
// is being processed runs again once it is done. Two lanes: `urgent` (a new
// or changed object) always goes before `routine` (a scheduled refresh), so
// new ExternalSecrets do not wait behind thousands of refreshes. Within a
// lane, namespaces take turns, and stores within a namespace (fair-lane.ts).
import { DelayedKeys } from './delayed-keys.js';
import { FairLane } from './fair-lane.js';

export type Lane = 'urgent' | 'routine';

/** The namespace of a "namespace/name" key; '' for a cluster-scoped one. */
function tenantOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

export class WorkQueue {
  private readonly lanes: Record<Lane, FairLane> = { urgent: new FairLane(), routine: new FairLane() };
  /** Keys waiting to be processed, with the lane they wait in. */
  private readonly dirty = new Map<string, Lane>();
  private readonly processing = new Set<string>();
  private readonly delayed = new DelayedKeys<Lane>((key, lane) => this.add(key, lane));
  private waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  /** `flowOf` names the key's flow within its namespace (its store), which take turns; one flow when omitted. */
  constructor(private readonly flowOf: (key: string) => string = () => '') {}

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
    this.lanes[lane].push(tenantOf(key), this.flowOf(key), key);
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
  }

  private pop(): string | undefined {
    for (const lane of ['urgent', 'routine'] as const) {
      // Skip entries that were promoted, already taken, or are running.
      const key = this.lanes[lane].pop((k) => this.dirty.get(k) === lane && !this.processing.has(k));
      if (key === undefined) continue;
      this.take(key);
      return key;
    }
    return undefined;
  }
}
