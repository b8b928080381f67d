// An informer: a local cache of one kind, kept current by list + watch.
//
// - watches resume from the last resourceVersion; 410 Gone means relist;
// - the server ends each watch after a jittered timeout, and the cache is
//   relisted on a jittered timer, so a lost event cannot stay lost;
// - a watchdog aborts a stream that has been silent for too long (the silent
//   stall that killed this project's Node.js predecessor);
// - connection errors retry with capped backoff, forever, until stop().
import type { Logger } from 'pino';
import { KubeApiError, isGone, type KubeClient, type ListOptions } from '../kube/client.js';
import { objectKey, type KubeObject, type ObjectMeta, type ResourceType } from '../kube/types.js';
import { sleep } from '../util/sleep.js';
import { withJitter } from './backoff.js';
import { LineSplitter } from './line-splitter.js';
import { shareStrings, shared } from './shared-strings.js';
import type { Lifecycle } from './lifecycle.js';

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
  /** The object left this cache because its scope changed (rescope), not because it was deleted. */
  onLeave?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** e.g. "metadata.name=x" to follow one object. */
  fieldSelector?: string;
  metadataOnly?: boolean;
  /**
   * Keep a summary of managedFields (manager and operation of each entry, in
   * order, without the field sets) instead of dropping them.
   */
  keepManagers?: boolean;
  /** Full relist period before jitter (default 10 min). */
  relistIntervalMs?: number;
  /** Server-side watch timeout before jitter (default 5 min). */
  watchTimeoutSeconds?: number;
  /** A stream silent this long is restarted (default watch timeout + 60 s). */
  idleTimeoutMs?: number;
  log: Logger;
  onWatchRestart?: (reason: 'stalled' | 'gone' | 'error') => void;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; reason?: string; message?: string };
}

export class Informer<T extends KubeObject> implements Lifecycle {
  private cache = new Map<string, T>();
  private resourceVersion = '';
  private nextRelistAt = 0;
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly stopController = new AbortController();
  private running?: Promise<void>;
  private synced = false;
  private readonly relistIntervalMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly idleTimeoutMs: number;
  private labelSelector?: string;
  /** A rescope waiting for its relist: what stays in scope, and who waits. */
  private rescoping?: { inScope: (obj: KubeObject) => boolean; waiters: Array<() => void> };
  private streamAbort?: AbortController;
  /** The watch in flight was ended by rescope(): not a failure. */
  private scopeAborted = false;

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions,
  ) {
    this.relistIntervalMs = opts.relistIntervalMs ?? 10 * 60_000;
    this.watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 300;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? (this.watchTimeoutSeconds + 60) * 1000;
    this.labelSelector = opts.labelSelector;
  }

  /**
   * Changes the label selector: the cache is relisted with it (reusing the
   * cached copies of what stays), and what it no longer selects leaves with
   * onLeave, not onDelete; an object gone that `inScope` still selects was
   * deleted. Resolves once the cache holds the new scope.
   */
  rescope(labelSelector: string, inScope: (obj: KubeObject) => boolean): Promise<void> {
    this.labelSelector = labelSelector;
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.rescoping = { inScope, waiters: [...(this.rescoping?.waiters ?? []), resolve] };
      this.nextRelistAt = 0;
      this.scopeAborted = true;
      this.streamAbort?.abort(new Error('informer scope changed'));
    });
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  values(): IterableIterator<T> {
    return this.cache.values();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Starts the loop; resolves once the first list has filled the cache. */
  async start(): Promise<void> {
    let resolveSynced!: () => void;
    const firstSync = new Promise<void>((resolve) => (resolveSynced = resolve));
    this.running = this.run(resolveSynced);
    await Promise.race([firstSync, this.running]);
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error('informer stopped'));
    await this.running?.catch(() => undefined);
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(onFirstSync: () => void): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion || Date.now() >= this.nextRelistAt) {
          await this.relist();
          if (!this.synced) {
            this.synced = true;
            onFirstSync();
          }
        }
        await this.watchOnce();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (this.scopeAborted) {
          this.scopeAborted = false;
          continue;
        }
        if (isGone(err)) {
          this.opts.log.info({ kind: this.type.kind }, 'watch expired (410 Gone); relisting');
          this.opts.onWatchRestart?.('gone');
          this.resourceVersion = '';
          continue;
        }
        failures++;
        const delay = Math.min(500 * 2 ** Math.min(failures - 1, 5), 15_000);
        this.opts.log.warn({ kind: this.type.kind, err: (err as Error).message, retryInMs: delay }, 'list/watch failed');
        this.opts.onWatchRestart?.('error');
        await sleep(withJitter(delay, 0.2), this.stopController.signal).catch(() => undefined);
      }
    }
  }

  private listOptions(): ListOptions {
    const { namespace, fieldSelector, metadataOnly } = this.opts;
    return { namespace, labelSelector: this.labelSelector, fieldSelector, metadataOnly };
  }

  private async relist(): Promise<void> {
    const selector = this.labelSelector;
    const rescoping = this.rescoping;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.list<T>(this.type, { ...this.listOptions(), limit: 500, continue: cont });
      for (const item of page.items ?? []) {
        const key = shared(objectKey(item));
        const cached = this.cache.get(key);
        // An unchanged object keeps its cached copy: during a relist the cache is held once, not twice.
        fresh.set(key, cached && cached.metadata.resourceVersion === item.metadata.resourceVersion ? cached : this.normalize(item));
      }
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (cont);

    const old = this.cache;
    this.cache = fresh;
    this.resourceVersion = resourceVersion;
    this.nextRelistAt = Date.now() + withJitter(this.relistIntervalMs, 0.3);
    for (const [key, obj] of fresh) {
      const before = old.get(key);
      if (!before) this.emit('add', obj);
      else if (before.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, before);
    }
    for (const [key, obj] of old) {
      if (!fresh.has(key)) this.emit(rescoping && !rescoping.inScope(obj) ? 'leave' : 'delete', obj);
    }
    // Rescoped again while this list ran: the next relist brings the latest scope.
    if (selector !== this.labelSelector) this.nextRelistAt = 0;
    else if (rescoping && this.rescoping === rescoping) {
      this.rescoping = undefined;
      for (const resolve of rescoping.waiters) resolve();
    }
  }

  /** Runs one watch stream until the server ends it, it stalls, or it fails. */
  private async watchOnce(): Promise<void> {
    const streamAbort = new AbortController();
    this.streamAbort = streamAbort;
    // Stopped or rescoped while the list ran: no stream to start.
    if (this.stopped || this.rescoping) return;
    const onStop = () => streamAbort.abort(new Error('informer stopped'));
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    let lastActivity = Date.now();
    let stalled = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastActivity > this.idleTimeoutMs) {
        stalled = true;
        streamAbort.abort(new Error('watch stream stalled'));
      }
    }, Math.max(50, Math.min(this.idleTimeoutMs / 4, 10_000)));
    watchdog.unref();
    const relistIn = Math.max(1, Math.ceil((this.nextRelistAt - Date.now()) / 1000));
    const timeoutSeconds = Math.min(relistIn, withJitter(this.watchTimeoutSeconds, 0.25));
    try {
      const response = await this.client.watch(
        this.type,
        { ...this.listOptions(), resourceVersion: this.resourceVersion, timeoutSeconds },
        streamAbort.signal,
      );
      if (!response.ok) {
        const text = await response.text();
        throw new KubeApiError(response.status, String(response.status), `watch ${this.type.plural}: ${text.slice(0, 200)}`);
      }
      if (!response.body) return;
      const decoder = new TextDecoder();
      const lines = new LineSplitter();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        lastActivity = Date.now();
        for (const line of lines.push(decoder.decode(chunk, { stream: true }))) {
          if (line.trim()) this.apply(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      if (stalled) {
        this.opts.log.warn({ kind: this.type.kind, idleMs: this.idleTimeoutMs }, 'watch stream silent too long; restarting it on fresh connections');
        this.client.resetConnections();
        this.opts.onWatchRestart?.('stalled');
        return;
      }
      throw err;
    } finally {
      clearInterval(watchdog);
      this.stopController.signal.removeEventListener('abort', onStop);
      streamAbort.abort();
    }
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object;
      throw new KubeApiError(status.code ?? 500, status.reason ?? 'Error', status.message ?? 'watch error');
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    const obj = this.normalize(event.object);
    const key = objectKey(obj);
    const before = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('delete', before ?? obj);
      return;
    }
    // A Map keeps the key it first stored; only a new key is made the shared instance.
    this.cache.set(before ? key : shared(key), obj);
    if (before) this.emit('update', obj, before);
    else this.emit('add', obj);
  }

  /**
   * The cache keeps only what the controllers read: managedFields (the
   * largest part of most objects) go, or shrink to who manages the object;
   * kubectl's last-applied annotation (a second copy of the spec) goes. The
   * metadata is rebuilt rather than `delete`d from: a deleted property turns
   * an object into a hash table (measured: 456 bytes more per object), and
   * repeated strings are shared.
   */
  private normalize(obj: T): T {
    const { managedFields, ...rest } = obj.metadata;
    const meta: ObjectMeta = rest;
    if (managedFields && this.opts.keepManagers) meta.managedFields = managedFields.map(({ manager, operation }) => ({ manager, operation }));
    if (meta.annotations?.[LAST_APPLIED]) {
      const { [LAST_APPLIED]: _, ...annotations } = meta.annotations;
      meta.annotations = annotations;
    }
    obj.metadata = meta;
    shareStrings(obj);
    return obj;
  }

  private emit(kind: 'add' | 'update' | 'delete' | 'leave', obj: T, before?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.onAdd?.(obj);
        else if (kind === 'update') h.onUpdate?.(before!, obj);
        else if (kind === 'delete') h.onDelete?.(obj);
        else h.onLeave?.(obj);
      } catch (err) {
        this.opts.log.error({ kind: this.type.kind, err: (err as Error).message }, 'informer handler failed');
      }
    }
  }
}
