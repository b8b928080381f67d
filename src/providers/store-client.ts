// Provider clients, one per store, reused across reconciles until the store
// or a Secret it references changes. Each call runs under a deadline, each
// remote request it makes goes through the store's budget (rateLimit) and is
// counted, and identical reads share one call: concurrent reads join the one
// in flight, and a read within `maxAgeMs` of the last reuses its answer.
// This is what makes 1,000 ExternalSecrets reading 100 keys cost ~100 calls
// (the sharing itself: shared-reads.ts).
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { AnyStore, FindRef, RemoteRef } from '../api/types.js';
import type { Metrics } from '../runtime/metrics.js';
import { TokenBucket } from '../util/token-bucket.js';
import { lazyChild } from '../runtime/lazy-logger.js';
import { untilAborted } from '../util/abort.js';
import { NotFoundError, ProviderTimeoutError, StoreConfigError, ThrottledError, providerFailure } from './errors.js';
import { mapFor, valueFor } from './property.js';
import type { CallContext, ProviderClient, RecordedSource, RemoteState, RemoteValue, RemoteValues, RemoteWriter, WriteOptions } from './provider.js';
import { SharedReads, readKey, type Freshness } from './shared-reads.js';
import type { StoreSeats } from './store-seats.js';

/** Who is calling, and until when. */
export interface CallOptions {
  /** The reconcile's signal (aborted when the operator stops). */
  signal: AbortSignal;
  log: Logger;
  /** The ExternalSecret key ('' for store checks). */
  consumer: string;
}

export interface ReadOptions extends CallOptions, Freshness {
  /**
   * How long a batchable read may wait for others to join its batch call:
   * short for a first sync (someone waits for it), longer for a scheduled
   * refresh (nobody does, and a beat's refreshes are processed over time).
   */
  batchWindowMs?: number;
}

const UNLIMITED = { qps: 1e6, burst: 1e6 };

/** Reads that arrive this close together share one batch call (unless the read asks for another window). */
const BATCH_WINDOW_MS = 10;

interface PendingBatch {
  refs: RemoteRef[];
  flushed: boolean;
  start: () => void;
  results: Promise<Array<RemoteValue | Error>>;
  flushAt: number;
  timer?: NodeJS.Timeout;
}

/** One store's client, wrapped with deadline, budget, metrics and read sharing. */
export class StoreClient {
  private readonly reads = new SharedReads();
  /** The batch still collecting reads, per kind of reader. */
  private readonly pendingBatches = new Map<'waited' | 'refresh', PendingBatch>();
  /** Reads waiting in a batch that has not gone out yet, by read key. */
  private readonly batchOf = new Map<string, PendingBatch>();
  private readonly bucket: TokenBucket;
  private throttledInARow = 0;

  constructor(
    readonly provider: string,
    readonly key: StoreKey,
    private readonly client: ProviderClient,
    private readonly metrics: Metrics,
    rateLimit: AnyStore['spec']['rateLimit'],
    private readonly callTimeoutMs: number,
    /** How many of its ExternalSecret syncs may wait on its calls (the operator's clients; not the CLI's). */
    readonly seats?: StoreSeats,
  ) {
    const qps = rateLimit?.qps ?? UNLIMITED.qps;
    this.bucket = new TokenBucket(qps, rateLimit?.burst ?? Math.max(1, Math.ceil(qps)));
  }

  getSecret(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValue> {
    if (ref.metadataPolicy === 'Fetch') return this.metadata(ref, opts).then((whole) => valueFor(ref, whole));
    if (this.batchable(ref)) return this.batchedRead(ref, opts);
    const { key, readOpts } = this.perReader(ref, opts);
    return this.shared('getSecret', key, readOpts, ref.key, (ctx) => this.client.getSecret(ref, ctx));
  }

  getSecretMap(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValues> {
    if (ref.metadataPolicy === 'Fetch') return this.metadata(ref, opts).then((whole) => mapFor(ref, whole));
    const { key, readOpts } = this.perReader(ref, opts);
    return this.shared('getSecretMap', key, readOpts, ref.key, (ctx) => this.client.getSecretMap(ref, ctx));
  }

  /** A remote secret's metadata as one JSON value, shared as reads are (one call for its value and its map readers). */
  private metadata(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValue> {
    const read = this.client.getSecretMetadata?.bind(this.client);
    if (!read) return Promise.reject(new StoreConfigError(`remoteRef.metadataPolicy Fetch: the ${this.provider} provider has no metadata to read; read the value (metadataPolicy None)`));
    return this.shared('getSecretMetadata', { key: ref.key }, opts, ref.key, async (ctx) => {
      const { metadata, source } = await read(ref.key, ctx);
      return { value: new TextEncoder().encode(JSON.stringify(metadata)), source };
    });
  }

  /** True when the provider can tell a key's current version without reading its value. */
  get knowsVersions(): boolean {
    return this.client.currentVersion !== undefined;
  }

  /** Hands the provider what syncs recorded (ProviderClient.recall). */
  recall(sources: RecordedSource[]): void {
    if (sources.length > 0) this.client.recall?.(sources);
  }

  /** A key's current version (undefined: the provider cannot tell), shared as reads are. */
  async currentVersion(key: string, opts: ReadOptions): Promise<string | undefined> {
    const currentVersion = this.client.currentVersion?.bind(this.client);
    if (!currentVersion) return undefined;
    const answer = await this.shared('currentVersion', { key }, opts, key, async (ctx) => ({ version: await currentVersion(key, ctx) }));
    return answer.version;
  }

  /** Per-reader reads (dynamic credentials) are keyed by reader and only joined while in flight. */
  private perReader(ref: RemoteRef, opts: ReadOptions) {
    if (this.client.isShareable?.(ref) !== false) return { key: ref, readOpts: opts };
    return { key: { ...ref, consumer: opts.consumer }, readOpts: { ...opts, maxAgeMs: 0, fetchedSince: undefined } };
  }

  /** Reads several refs; plain reads join the store's next batch call (batchedRead). */
  getSecrets(refs: RemoteRef[], opts: ReadOptions): Promise<Array<RemoteValue | Error>> {
    return Promise.all(refs.map((ref) => this.getSecret(ref, opts).catch((err: unknown) => toError(err))));
  }

  /** A plain read (no version, the same for every reader) a provider can batch. */
  private batchable(ref: RemoteRef): boolean {
    return this.client.getSecrets !== undefined && ref.version === undefined && ref.metadataPolicy !== 'Fetch' && this.client.isShareable?.(ref) !== false;
  }

  /**
   * Plain reads of any ExternalSecret that arrive within a window of each
   * other go out as one batch call (AWS: BatchGetSecretValue, 20 secrets a
   * request), so refreshes that fall due together cost the distinct
   * secrets / 20. Reads someone waits for (first syncs, 10 ms) and scheduled
   * refreshes (up to 1 s) fill separate batches, so the first do not cut the
   * second short; a waited-for read of a key already in a refresh batch sends
   * that batch at once. Each read is shared as a single read would be.
   */
  private batchedRead(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValue> {
    const now = Date.now();
    const window = opts.batchWindowMs ?? BATCH_WINDOW_MS;
    const hit = this.reads.recent('getSecret', ref, opts, now);
    if (hit) {
      this.metrics.providerCacheHits.inc({ provider: this.provider });
      const waiting = this.batchOf.get(readKey('getSecret', ref));
      if (waiting && now + window < waiting.flushAt) this.flush(waiting);
      return hit as Promise<RemoteValue>;
    }
    const kind = window > BATCH_WINDOW_MS ? 'refresh' : 'waited';
    let batch = this.pendingBatches.get(kind);
    if (!batch) {
      batch = this.openBatch(opts, window);
      this.pendingBatches.set(kind, batch);
    }
    const index = batch.refs.push(ref) - 1;
    this.batchOf.set(readKey('getSecret', ref), batch);
    const one = batch.results.then((all) => {
      const r = all[index];
      if (r instanceof Error || r === undefined) throw r ?? new NotFoundError(ref.key);
      return r;
    });
    one.catch(() => undefined);
    this.reads.remember('getSecret', ref, one, now);
    // Full at the provider's own request size: waiting longer would only start a second request.
    if (batch.refs.length >= (this.client.batchSize ?? 1)) this.flush(batch);
    return one;
  }

  /** True when plain reads go out in batch calls. */
  get batches(): boolean {
    return this.client.getSecrets !== undefined;
  }

  /**
   * Starts the plain reads of refreshes that fall due together, in full
   * batches sent at once; their readers then join them. A read that is
   * already fresh enough or on its way is not asked for again.
   */
  prefetch(refs: RemoteRef[], opts: ReadOptions): void {
    if (!this.batches) return;
    const window = opts.batchWindowMs ?? BATCH_WINDOW_MS;
    for (const ref of refs) if (this.batchable(ref)) this.batchedRead(ref, { ...opts, batchWindowMs: window }).catch(() => undefined);
    const rest = this.pendingBatches.get(window > BATCH_WINDOW_MS ? 'refresh' : 'waited');
    if (rest) this.flush(rest);
  }

  private openBatch(opts: ReadOptions, window: number): PendingBatch {
    const getSecrets = this.client.getSecrets!.bind(this.client);
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const batch: PendingBatch = { refs: [], flushed: false, start, results: Promise.resolve([]), flushAt: Date.now() + window };
    // The first reader's signal and logger stand for the batch (all readers stop together).
    batch.results = started.then(() =>
      this.call('getSecrets', opts, `${batch.refs.length} secrets`, async (ctx) => {
        const results = await getSecrets(batch.refs, ctx);
        // Throttling is the store's, not one secret's: the whole call fails, so the store holds its calls.
        const throttled = results.find((r) => r instanceof ThrottledError);
        if (throttled) throw throttled;
        return results;
      }),
    );
    batch.results.catch(() => undefined);
    batch.timer = setTimeout(() => this.flush(batch), window);
    return batch;
  }

  private flush(batch: PendingBatch): void {
    if (batch.flushed) return;
    batch.flushed = true;
    clearTimeout(batch.timer);
    for (const [kind, pending] of this.pendingBatches) if (pending === batch) this.pendingBatches.delete(kind);
    for (const ref of batch.refs) {
      const key = readKey('getSecret', ref);
      if (this.batchOf.get(key) === batch) this.batchOf.delete(key);
    }
    batch.start();
  }

  findSecrets(find: FindRef, opts: ReadOptions): Promise<RemoteValues> {
    const findSecrets = this.client.findSecrets?.bind(this.client);
    if (!findSecrets) return Promise.reject(new Error(`provider "${this.provider}" does not support dataFrom.find`));
    return this.shared('findSecrets', find, opts, find.path ?? find.name?.regexp ?? 'find', (ctx) => findSecrets(find, ctx));
  }

  /** How the provider records ownership and conditions writes; undefined when it cannot write. */
  get writes(): Pick<RemoteWriter, 'ownership' | 'conditional'> | undefined {
    return this.client.writer;
  }

  inspectRemote(key: string, opts: CallOptions): Promise<RemoteState> {
    return this.call('inspect', opts, key, (ctx) => this.writer().inspect(key, ctx));
  }

  /** Writes a remote secret; reads of it shared before the write are not served again. */
  async writeRemote(key: string, value: Uint8Array, write: WriteOptions, opts: CallOptions): Promise<{ version?: string }> {
    try {
      return await this.call('write', opts, key, (ctx) => this.writer().write(key, value, write, ctx));
    } finally {
      this.reads.forget(key);
    }
  }

  async removeRemote(key: string, opts: CallOptions): Promise<void> {
    try {
      await this.call('delete', opts, key, (ctx) => this.writer().remove(key, ctx));
    } finally {
      this.reads.forget(key);
    }
  }

  private writer(): RemoteWriter {
    if (!this.client.writer) throw new StoreConfigError(`the ${this.provider} provider is read-only: a PushSecret cannot write through this store`);
    return this.client.writer;
  }

  validate(opts: CallOptions): Promise<void> {
    return this.call('validate', opts, 'credentials', (ctx) => this.client.validate(ctx));
  }

  release(opts: CallOptions): Promise<void> {
    const release = this.client.release?.bind(this.client);
    if (!release) return Promise.resolve();
    return this.call('release', opts, 'leases', (ctx) => release(opts.consumer, ctx));
  }

  /** Renews recorded leases; undefined for each one (or all, when the provider has no leases) that cannot be renewed. */
  renewLeases(leases: Array<{ id: string; ttlSeconds: number }>, opts: CallOptions): Promise<Array<Date | undefined>> {
    const renew = this.client.renewLeases?.bind(this.client);
    if (!renew) return Promise.resolve(leases.map(() => undefined));
    return this.call('renewLeases', opts, 'leases', (ctx) => renew(leases, ctx));
  }

  revokeLeases(ids: string[], opts: CallOptions): Promise<void> {
    const revoke = this.client.revokeLeases?.bind(this.client);
    if (!revoke || ids.length === 0) return Promise.resolve();
    return this.call('revokeLeases', opts, 'leases', (ctx) => revoke(ids, ctx));
  }

  close(): Promise<void> {
    this.reads.clear();
    this.seats?.close();
    return this.client.close();
  }

  private shared<T>(call: string, ref: object, opts: ReadOptions, what: string, fn: (ctx: CallContext) => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.reads.recent(call, ref, opts, now);
    if (hit) {
      this.metrics.providerCacheHits.inc({ provider: this.provider });
      return hit as Promise<T>;
    }
    const result = this.call(call, opts, what, fn);
    this.reads.remember(call, ref, result, now);
    return result;
  }

  /**
   * One provider call under its deadline. The caller is freed at the deadline
   * even if the provider ignores the signal; the metric counts the requests
   * the provider said it made.
   */
  private async call<T>(call: string, opts: CallOptions, what: string, fn: (ctx: CallContext) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.callTimeoutMs);
    const signal = AbortSignal.any([opts.signal, deadline]);
    let requests = 0;
    const ctx: CallContext = {
      signal,
      deadlineAt: Date.now() + this.callTimeoutMs,
      log: lazyChild(opts.log, { store: this.key }),
      consumer: opts.consumer,
      request: async () => {
        signal.throwIfAborted();
        await this.bucket.take(signal);
        requests++;
      },
    };
    try {
      const result = await untilAborted(fn(ctx), signal);
      this.throttledInARow = 0;
      this.count(call, 'ok', requests);
      return result;
    } catch (caught) {
      const err = deadline.aborted && !opts.signal.aborted
        ? new ProviderTimeoutError(`${this.provider} did not answer within ${this.callTimeoutMs / 1000}s (${call} ${what})`, { cause: caught })
        : caught;
      // A failure before any request (bad config, budget wait cut by the deadline) still shows once.
      this.count(call, providerFailure(err).metric, Math.max(requests, 1));
      if (err instanceof ThrottledError) {
        // The whole store slows down, not just the caller: 1 s, doubling, at most 1 min.
        this.throttledInARow++;
        this.bucket.hold(err.retryAfterMs ?? Math.min(60_000, 1000 * 2 ** (this.throttledInARow - 1)));
      }
      throw err;
    }
  }

  private count(call: string, status: string, requests: number): void {
    if (requests > 0) this.metrics.providerCalls.inc({ provider: this.provider, call, status }, requests);
  }


}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
