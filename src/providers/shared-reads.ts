// The reads of one store's client that others may share: a call still in
// flight is joined, a finished one serves readers while it is as fresh as
// they ask (and no later than a lease or expiry date in its answer), and a
// failed one is not shared beyond the readers already waiting on it.
import { reusableUntil } from './freshness.js';
import type { RemoteValue, RemoteValues, SourceInfo } from './provider.js';

/** How fresh a shared answer must be for a reader. */
export interface Freshness {
  /** Accept a shared answer at most this old (0: always call). */
  maxAgeMs: number;
  /**
   * A refresh due at this time (epoch ms) also accepts any answer to a call
   * made since then, however long ago: it is as fresh as the refresh asks.
   */
  fetchedSince?: number;
  /**
   * The remote value changed at this time (a provider event): only answers to
   * calls made at or after it will do, not even a call still in flight.
   */
  changedAt?: number;
}

interface CachedRead {
  /** When the call was made. */
  calledAt: number;
  /** When it was answered (until then, when it was made). */
  at: number;
  result: Promise<unknown>;
  pending: boolean;
  /** A lease or expiry date in the answer ends sharing earlier than maxAge would. */
  until: number;
}

/** The key a read of `ref` by `call` is shared under. */
export function readKey(call: string, ref: object): string {
  return `${call}\0${JSON.stringify(ref)}`;
}

export class SharedReads {
  private readonly reads = new Map<string, CachedRead>();
  private lastPrune = 0;

  /** A read the reader may share, or undefined (it must call). */
  recent(call: string, ref: object, want: Freshness, now: number): Promise<unknown> | undefined {
    const hit = this.reads.get(readKey(call, ref));
    if (!hit) return undefined;
    if (want.changedAt !== undefined && hit.calledAt < want.changedAt) return undefined;
    // A call still in flight is always joined; a finished one only while fresh enough.
    if (hit.pending) return hit.result;
    const fresh = now - hit.at <= want.maxAgeMs || (want.fetchedSince !== undefined && hit.calledAt >= want.fetchedSince);
    return fresh && now < hit.until ? hit.result : undefined;
  }

  remember(call: string, ref: object, result: Promise<unknown>, at: number): void {
    const key = readKey(call, ref);
    const entry: CachedRead = { calledAt: at, at, result, pending: true, until: Infinity };
    this.reads.set(key, entry);
    // Freshness counts from the answer; failed reads are not shared beyond the ones already waiting.
    result.then(
      (answer) => {
        entry.pending = false;
        entry.at = Date.now();
        entry.until = reusableUntil(sourcesOf(answer), entry.at);
      },
      () => {
        if (this.reads.get(key) === entry) this.reads.delete(key);
      },
    );
    this.prune(at);
  }

  /** Every read of a remote key goes (it was written or removed). */
  forget(key: string): void {
    const needle = JSON.stringify(key);
    for (const k of this.reads.keys()) if (k.includes(`"key":${needle}`)) this.reads.delete(k);
  }

  clear(): void {
    this.reads.clear();
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 10_000) return;
    this.lastPrune = now;
    // Entries older than any plausible maxAge are dropped so values do not linger.
    for (const [key, read] of this.reads) if (!read.pending && now - read.at > 10 * 60_000) this.reads.delete(key);
  }
}

function sourcesOf(answer: unknown): SourceInfo[] {
  const a = answer as Partial<RemoteValue & RemoteValues>;
  return a.sources ?? (a.source ? [a.source] : []);
}
