// Provider clients, one per store, reused across reconciles until the store
// changes. Each call goes through the store's call budget (rateLimit), is
// counted, and identical reads share one call: concurrent reads join the one
// in flight, and a read within `cacheTtlMs` of the last reuses its answer.
// This is what makes 1,000 ExternalSecrets reading 100 keys cost ~100 calls.
import type { AnyStore, FindRef, RemoteRef } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import type { Metrics } from '../metrics.js';
import { TokenBucket } from '../runtime/backoff.js';
import { NotFoundError, PermissionDeniedError, ThrottledError } from './errors.js';
import type { ProviderClient, RemoteValue, RemoteValues } from './provider.js';
import { loadProvider, providerName } from './registry.js';

export interface ReadOptions {
  /** Accept a shared answer at most this old (0: always call). */
  maxAgeMs: number;
  /** The ExternalSecret reading (see ReadContext). */
  consumer?: string;
  signal?: AbortSignal;
}

interface CachedRead {
  at: number;
  result: Promise<unknown>;
  pending: boolean;
}

const UNLIMITED = { qps: 1e6, burst: 1e6 };

/** One store's client, wrapped with budget, metrics and read sharing. */
export class StoreClient {
  private readonly reads = new Map<string, CachedRead>();
  private readonly bucket: TokenBucket;

  constructor(
    readonly provider: string,
    private readonly client: ProviderClient,
    private readonly metrics: Metrics,
    rateLimit: AnyStore['spec']['rateLimit'],
  ) {
    const qps = rateLimit?.qps ?? UNLIMITED.qps;
    this.bucket = new TokenBucket(qps, rateLimit?.burst ?? Math.max(1, Math.ceil(qps)));
  }

  getSecret(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValue> {
    const { key, ctx, readOpts } = this.perReader(ref, opts);
    return this.shared('getSecret', key, readOpts, () => this.client.getSecret(ref, ctx));
  }

  getSecretMap(ref: RemoteRef, opts: ReadOptions): Promise<RemoteValues> {
    const { key, ctx, readOpts } = this.perReader(ref, opts);
    return this.shared('getSecretMap', key, readOpts, () => this.client.getSecretMap(ref, ctx));
  }

  /** Per-reader reads (dynamic credentials) are keyed by reader and only joined while in flight. */
  private perReader(ref: RemoteRef, opts: ReadOptions) {
    const ctx = { consumer: opts.consumer ?? '' };
    if (this.client.isShareable?.(ref) !== false) return { key: ref, ctx, readOpts: opts };
    return { key: { ...ref, consumer: ctx.consumer }, ctx, readOpts: { ...opts, maxAgeMs: 0 } };
  }

  /** Reads several refs; uses the provider's batch call where it has one. */
  async getSecrets(refs: RemoteRef[], opts: ReadOptions): Promise<Array<RemoteValue | Error>> {
    const batch = this.client.getSecrets?.bind(this.client);
    if (!batch || refs.length < 2 || refs.some((r) => this.client.isShareable?.(r) === false)) {
      return Promise.all(refs.map((ref) => this.getSecret(ref, opts).catch((err: unknown) => toError(err))));
    }
    const now = Date.now();
    const fresh = refs.map((ref) => this.recent('getSecret', ref, opts.maxAgeMs, now));
    const missing = refs.filter((_, i) => !fresh[i]);
    if (missing.length > 0) {
      const results = this.call('getSecrets', () => batch(missing), opts.signal);
      missing.forEach((ref, i) => {
        const one = results.then((all) => {
          const r = all[i];
          if (r instanceof Error || r === undefined) throw r ?? new NotFoundError(ref.key);
          return r;
        });
        one.catch(() => undefined);
        this.remember('getSecret', ref, one, now);
      });
    }
    return Promise.all(
      refs.map((ref) => (this.recent('getSecret', ref, Infinity, now) as Promise<RemoteValue>).catch((err: unknown) => toError(err))),
    );
  }

  findSecrets(find: FindRef, opts: ReadOptions): Promise<RemoteValues> {
    const findSecrets = this.client.findSecrets?.bind(this.client);
    if (!findSecrets) return Promise.reject(new Error(`provider "${this.provider}" does not support dataFrom.find`));
    return this.shared('findSecrets', find, opts, () => findSecrets(find));
  }

  validate(): Promise<void> {
    return this.call('validate', () => this.client.validate());
  }

  release(consumer: string): Promise<void> {
    return this.client.release?.(consumer) ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.reads.clear();
    return this.client.close();
  }

  private readKey(call: string, ref: object): string {
    return `${call}\0${JSON.stringify(ref)}`;
  }

  private recent(call: string, ref: object, maxAgeMs: number, now: number): Promise<unknown> | undefined {
    const hit = this.reads.get(this.readKey(call, ref));
    if (!hit) return undefined;
    // A call still in flight is always joined; a finished one only while fresh enough.
    return hit.pending || now - hit.at <= maxAgeMs ? hit.result : undefined;
  }

  private remember(call: string, ref: object, result: Promise<unknown>, at: number): void {
    const key = this.readKey(call, ref);
    const entry: CachedRead = { at, result, pending: true };
    this.reads.set(key, entry);
    // Freshness counts from the answer; failed reads are not shared beyond the ones already waiting.
    result.then(
      () => {
        entry.pending = false;
        entry.at = Date.now();
      },
      () => {
        if (this.reads.get(key) === entry) this.reads.delete(key);
      },
    );
    this.prune(at);
  }

  private shared<T>(call: string, ref: object, opts: ReadOptions, fn: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.recent(call, ref, opts.maxAgeMs, now);
    if (hit) {
      this.metrics.providerCacheHits.inc({ provider: this.provider });
      return hit as Promise<T>;
    }
    const result = this.call(call, fn, opts.signal);
    this.remember(call, ref, result, now);
    return result;
  }

  private throttledInARow = 0;

  private async call<T>(call: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.bucket.take(signal);
    try {
      const result = await fn();
      this.throttledInARow = 0;
      this.metrics.providerCalls.inc({ provider: this.provider, call, status: 'ok' });
      return result;
    } catch (err) {
      this.metrics.providerCalls.inc({ provider: this.provider, call, status: errorStatus(err) });
      if (err instanceof ThrottledError) {
        // The whole store slows down, not just the caller: 1 s, doubling, at most 1 min.
        this.throttledInARow++;
        this.bucket.hold(err.retryAfterMs ?? Math.min(60_000, 1000 * 2 ** (this.throttledInARow - 1)));
      }
      throw err;
    }
  }

  private lastPrune = 0;
  private prune(now: number): void {
    if (now - this.lastPrune < 10_000) return;
    this.lastPrune = now;
    // Entries older than any plausible maxAge are dropped so values do not linger.
    for (const [key, read] of this.reads) if (now - read.at > 10 * 60_000) this.reads.delete(key);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errorStatus(err: unknown): string {
  if (err instanceof NotFoundError) return 'not_found';
  if (err instanceof PermissionDeniedError) return 'denied';
  if (err instanceof ThrottledError) return 'throttled';
  return 'error';
}

interface Entry {
  uid: string;
  generation: number;
  client: Promise<StoreClient>;
}

/** Store key ("SecretStore/ns/name" or "ClusterSecretStore/name") to its client. */
export class StoreClients {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly kube: KubeClient,
    private readonly metrics: Metrics,
  ) {}

  static keyOf(store: AnyStore, kind: string): string {
    return `${kind}/${store.metadata.namespace ? `${store.metadata.namespace}/` : ''}${store.metadata.name}`;
  }

  /** The client for this store, created on first use and after any spec change. */
  get(store: AnyStore, kind: string): Promise<StoreClient> {
    const key = StoreClients.keyOf(store, kind);
    const uid = store.metadata.uid ?? '';
    const generation = store.metadata.generation ?? 0;
    const existing = this.entries.get(key);
    if (existing && existing.uid === uid && existing.generation === generation) return existing.client;
    if (existing) void this.closeEntry(existing);
    const client = this.create(store);
    const entry = { uid, generation, client };
    this.entries.set(key, entry);
    client.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return client;
  }

  /** An ExternalSecret is gone: its store's client gives back what it held for it. */
  async release(key: string, consumer: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    try {
      await (await entry.client).release(consumer);
    } catch {
      // Best effort: what is not released expires on the provider's own clock.
    }
  }

  async drop(key: string): Promise<void> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    if (entry) await this.closeEntry(entry);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.closeEntry(e)));
  }

  private async create(store: AnyStore): Promise<StoreClient> {
    const name = providerName(store.spec.provider);
    if (!name) throw new Error('store needs exactly one provider');
    const provider = await loadProvider(name);
    const client = await provider.newClient({ store, namespace: store.metadata.namespace ?? '', kube: this.kube });
    return new StoreClient(name, client, this.metrics, store.spec.rateLimit);
  }

  private async closeEntry(entry: Entry): Promise<void> {
    try {
      await (await entry.client).close();
    } catch {
      // A client that failed to start has nothing to close.
    }
  }
}
