// Refresh on provider events: a change event for a remote key refreshes
// exactly the ExternalSecrets that read that key (RemoteKeyIndex), instead
// of waiting for their schedule. Events for the same key within a short
// window are one refresh, and the refresh's reads are shared: a storm of
// events for one key costs one provider read. An event for a key no
// ExternalSecret reads is counted as unknown and triggers nothing.
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { Metrics } from '../runtime/metrics.js';
import { RemoteKeyIndex } from './remote-key-index.js';
import type { Lifecycle } from '../runtime/lifecycle.js';
import type { Change } from '../runtime/sharding/change-relay.js';

/**
 * One change event. A provider may name the secret several ways (a name or an
 * ARN) and one vault may back several stores: the event concerns every
 * store and key spelling given, and counts once.
 */
export interface RemoteChange {
  stores: StoreKey[];
  keys: string[];
  /** Where it came from (webhook, aws-sqs, ...): a metric label. */
  source: string;
}

export interface RefreshEventsDeps {
  metrics: Metrics;
  log: Logger;
  /** How long events are collected before the refresh (one refresh per key per window). */
  windowMs: number;
  /** Refreshes these ExternalSecrets with reads made at or after `since`. */
  refresh: (esKeys: Iterable<string>, since: number) => void;
  /**
   * Sharded (--shards): this replica knows only the readers it holds, so each
   * window's changes go to the ring instead (runtime/sharding/change-relay.ts),
   * and come back to every replica through relayed().
   */
  relay?: (changes: Change[]) => void;
}

export class RefreshEvents implements Lifecycle {
  readonly index = new RemoteKeyIndex();
  /** The (store, key) pairs some ExternalSecret reads that changed in this window. */
  private readonly pending = new Map<string, { store: StoreKey; key: string }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: RefreshEventsDeps) {}

  /** An authenticated change event: 'accepted' when some ExternalSecret reads a key it names; 'relayed' when sharded (the ring decides). */
  changed(change: RemoteChange): 'accepted' | 'unknown' | 'relayed' {
    if (this.deps.relay) {
      this.deps.metrics.refreshEvents.inc({ source: change.source, result: 'relayed' });
      for (const store of change.stores) for (const key of change.keys) this.pending.set(`${store}\0${key}`, { store, key });
      this.timer ??= setTimeout(() => this.flush(), this.deps.windowMs);
      return 'relayed';
    }
    const read = change.stores.flatMap((store) => change.keys.filter((key) => this.index.readersOf(store, key).size > 0).map((key) => ({ store, key })));
    if (read.length === 0) {
      this.deps.metrics.refreshEvents.inc({ source: change.source, result: 'unknown' });
      return 'unknown';
    }
    this.deps.metrics.refreshEvents.inc({ source: change.source, result: 'accepted' });
    for (const r of read) this.pending.set(`${r.store}\0${r.key}`, r);
    this.timer ??= setTimeout(() => this.flush(), this.deps.windowMs);
    return 'accepted';
  }

  /** A refused event (bad signature, replay, malformed): counted, never acted on. */
  refused(source: string, result: 'unauthenticated' | 'replayed' | 'malformed'): void {
    this.deps.metrics.refreshEvents.inc({ source, result });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /**
   * Changes the ring's leader relayed: the readers this replica holds (those
   * `only` picks, on a replay) refresh with reads made at or after `since`.
   */
  relayed(changes: Change[], since: number, only?: (esKey: string) => boolean): void {
    const esKeys = new Set<string>();
    let read = 0;
    for (const [store, key] of changes) {
      const readers = [...this.index.readersOf(store, key)].filter((k) => !only || only(k));
      if (readers.length > 0) read++;
      for (const k of readers) esKeys.add(k);
    }
    if (esKeys.size === 0) return;
    if (!only) this.deps.metrics.refreshEvents.inc({ source: 'ring', result: 'accepted' }, read);
    this.deps.log.debug({ changes: changes.length, externalSecrets: esKeys.size, replay: only !== undefined }, 'refreshing for relayed provider change events');
    this.deps.refresh(esKeys, since);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.deps.relay) {
      const changes = [...this.pending.values()].map((c): Change => [c.store, c.key]);
      this.pending.clear();
      this.deps.relay(changes);
      return;
    }
    // Every event of the window arrived before now: reads made from now on see its change.
    const since = Date.now();
    const esKeys = new Set<string>();
    for (const change of this.pending.values()) for (const k of this.index.readersOf(change.store, change.key)) esKeys.add(k);
    this.deps.log.debug({ keys: this.pending.size, externalSecrets: esKeys.size }, 'refreshing for provider change events');
    this.pending.clear();
    this.deps.refresh(esKeys, since);
  }
}
