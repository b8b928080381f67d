// Keys that fall due at a time: one timer for all of them, armed for the
// earliest, over a binary heap ordered by due time. A timer per key (10,000
// scheduled refreshes) cost about 250 bytes each in Timeout objects, closures
// and contexts.
//
// A key rescheduled or cancelled leaves its old heap entry behind; an entry
// is live only while the key's map entry is that same entry, and the heap is
// rebuilt from the map when stale entries outnumber live ones.
import { shared } from './shared-strings.js';

interface Entry<T> {
  at: number;
  key: string;
  value: T;
}

/** setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DelayedKeys<T> {
  private readonly live = new Map<string, Entry<T>>();
  private heap: Entry<T>[] = [];
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(private readonly onDue: (key: string, value: T) => void) {}

  /** When `key` is due, or undefined. */
  dueAt(key: string): number | undefined {
    return this.live.get(key)?.at;
  }

  /** Schedules `key` at `at` (epoch ms), replacing its earlier schedule. */
  schedule(key: string, at: number, value: T): void {
    const entry = { at, key: this.live.get(key)?.key ?? shared(key), value };
    this.live.set(entry.key, entry);
    this.push(entry);
    if (this.heap.length > 1024 && this.heap.length > 2 * this.live.size) this.rebuild();
    this.arm();
  }

  cancel(key: string): void {
    this.live.delete(key);
    if (this.live.size === 0) this.clear();
  }

  clear(): void {
    this.live.clear();
    this.heap = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  get size(): number {
    return this.live.size;
  }

  private arm(): void {
    const first = this.peekLive();
    if (!first) return this.clear();
    if (this.timer && this.timerAt <= first.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = first.at;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, first.at - Date.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let first = this.peekLive(); first && first.at <= now; first = this.peekLive()) {
      this.pop();
      this.live.delete(first.key);
      this.onDue(first.key, first.value);
    }
    if (this.live.size > 0) this.arm();
  }

  /** The earliest live entry, after dropping stale ones from the top. */
  private peekLive(): Entry<T> | undefined {
    while (this.heap.length > 0 && this.live.get(this.heap[0]!.key) !== this.heap[0]) this.pop();
    return this.heap[0];
  }

  private rebuild(): void {
    this.heap = [...this.live.values()].sort((a, b) => a.at - b.at);
  }

  private push(entry: Entry<T>): void {
    const heap = this.heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
