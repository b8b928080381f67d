// When the first ExternalSecret of a store's beat is refreshed, the plain
// reads of every ExternalSecret of that store due with it are asked for at
// once. A batching provider (AWS: 20 secrets a request) then reads each
// distinct secret once, in full batches, instead of in the order the workers
// happen to reach them (each of them waiting for a batch to fill). What their
// last syncs recorded goes with them (rotation dates a restarted operator
// need not look up again).
import type { ExternalSecret, RemoteRef } from '../../api/types.js';
import type { RecordedSource } from '../../providers/provider.js';
import type { ReadOptions, StoreClient } from '../../providers/store-client.js';
import { recordedSources } from '../../secrets/status-sources.js';

export class RefreshPrefetch {
  /** Store key -> the due time already prefetched for. */
  private readonly done = new Map<string, number>();

  constructor(
    /** ExternalSecret keys that use a store. */
    private readonly dependents: (store: string) => Iterable<string>,
    private readonly lookup: (key: string) => ExternalSecret | undefined,
  ) {}

  /** Starts the reads of everything due by `dueAt` on this store, once per due time. */
  start(client: StoreClient, dueAt: number, opts: ReadOptions): void {
    if (!client.batches || this.done.get(client.key) === dueAt) return;
    this.done.set(client.key, dueAt);
    const refs: RemoteRef[] = [];
    const recorded: RecordedSource[] = [];
    for (const key of this.dependents(client.key)) {
      const es = this.lookup(key);
      const next = es?.status?.nextRefreshTime;
      if (!es || next === undefined || Date.parse(next) > dueAt) continue;
      for (const item of es.spec.data ?? []) refs.push(item.remoteRef);
      recorded.push(...recordedSources(es.status));
    }
    client.recall(recorded);
    client.prefetch(refs, opts);
  }
}
