// The per-store event sources that pull (an AWS SQS queue, a Google Pub/Sub
// subscription): one poll loop per store that names a source, run by the
// leader only (a follower would take messages the leader needs), restarted
// when the store's provider spec changes and stopped when the store goes.
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { AnyStore } from '../api/types.js';
import type { Lifecycle } from '../runtime/lifecycle.js';

export interface PullSource {
  /** The part of the store's spec the loop depends on; undefined when the store names no source. */
  configOf(store: AnyStore): string | undefined;
  /** Polls until the signal aborts. */
  poll(key: StoreKey, store: AnyStore, signal: AbortSignal): Promise<void>;
}

export class StorePollers implements Lifecycle {
  private readonly running = new Map<StoreKey, { config: string; abort: AbortController }>();
  private readonly stores = new Map<StoreKey, AnyStore>();
  private leading = false;

  constructor(private readonly source: PullSource) {}

  /** A store was added or changed, or (undefined) deleted. */
  storeChanged(key: StoreKey, store: AnyStore | undefined): void {
    if (store && this.source.configOf(store) !== undefined) this.stores.set(key, store);
    else this.stores.delete(key);
    this.reconcile(key);
  }

  setLeading(leading: boolean): void {
    this.leading = leading;
    for (const key of new Set([...this.stores.keys(), ...this.running.keys()])) this.reconcile(key);
  }

  stop(): void {
    this.setLeading(false);
  }

  private reconcile(key: StoreKey): void {
    const store = this.leading ? this.stores.get(key) : undefined;
    const config = store ? this.source.configOf(store) : undefined;
    const current = this.running.get(key);
    if (current && current.config === config) return;
    current?.abort.abort();
    this.running.delete(key);
    if (!store || config === undefined) return;
    const loop = { config, abort: new AbortController() };
    this.running.set(key, loop);
    void this.source.poll(key, store, loop.abort.signal);
  }
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Runs `once` (one long poll and its handling) until the signal aborts; a
 * failure is logged and retried after a backoff that doubles up to a minute.
 */
export async function pollUntilAborted(signal: AbortSignal, log: Logger, source: string, once: () => Promise<void>): Promise<void> {
  log.info(`taking change events from ${source}`);
  let backoffMs = 1000;
  while (!signal.aborted) {
    try {
      await once();
      backoffMs = 1000;
    } catch (err) {
      if (signal.aborted) break;
      log.warn({ err: (err as Error).message, retryInMs: backoffMs }, `could not take change events from ${source}`);
      await pause(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  }
}

/** Waits `ms`, or less if the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
