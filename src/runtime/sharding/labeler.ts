// New objects carry no shard label: users create ExternalSecrets without it,
// and Secrets written before --shards lack it. Each replica watches the
// unlabelled ones (metadata only; in a steady state there are none) and labels
// those of the buckets it holds with their bucket, after which they enter the
// holder's sliced caches. Each holder labels only its own buckets, so no
// object is labelled by two replicas.
import type { Logger } from 'pino';
import { SHARD_LABEL } from '../../api/names.js';
import { isNotFound, type KubeClient } from '../../kube/client.js';
import { objectKey, type KubeObject } from '../../kube/types.js';
import { ExponentialBackoff, RetryRateLimiter } from '../backoff.js';
import { Controller } from '../controller.js';
import { Informer, type InformerOptions } from '../informer.js';
import type { Lifecycle } from '../lifecycle.js';
import { stopTogether } from '../lifecycle.js';
import type { Metrics } from '../metrics.js';
import { WorkQueue } from '../workqueue.js';
import { TokenBucket } from '../../util/token-bucket.js';
import { bucketOf } from './buckets.js';

export interface LabelledKind {
  informer: Informer<KubeObject>;
  /** Only those with this label selector besides having no shard label (e.g. our managed Secrets). */
  selector?: string;
  /**
   * Labelled only once the kinds before it have nothing left to label in the
   * namespace: an ExternalSecret enters its holder's cache after its Secret
   * does, so its first reconcile finds the Secret cached and writes nothing.
   */
  after?: boolean;
}

/** One kind's unlabelled objects: their cache and the queue of those to label. */
class KindLabeler implements Lifecycle {
  readonly unlabelled: Informer<KubeObject>;
  readonly queue = new WorkQueue();
  readonly controller: Controller;
  /** Unlabelled objects by namespace. */
  private readonly waiting = new Map<string, number>();

  constructor(kube: KubeClient, kind: LabelledKind, owns: (namespace: string) => boolean, metrics: Metrics, opts: InformerOptions, before: () => KindLabeler[]) {
    const type = kind.informer.type;
    this.unlabelled = new Informer<KubeObject>(kube, type, {
      ...opts,
      labelSelector: [kind.selector, `!${SHARD_LABEL}`].filter(Boolean).join(','),
      metadataOnly: true,
    });
    const count = (o: KubeObject, by: number) => {
      const ns = o.metadata.namespace ?? '';
      const n = (this.waiting.get(ns) ?? 0) + by;
      if (n > 0) this.waiting.set(ns, n);
      else this.waiting.delete(ns);
    };
    this.unlabelled.addHandlers({
      onAdd: (o) => {
        count(o, 1);
        this.queue.add(objectKey(o));
      },
      onUpdate: (_, o) => this.queue.add(objectKey(o)),
      onDelete: (o) => count(o, -1),
    });
    this.controller = new Controller({
      name: `shard-label-${type.kind.toLowerCase()}`,
      queue: this.queue,
      workers: 2,
      retry: new RetryRateLimiter(new ExponentialBackoff(500, 60_000), new TokenBucket(10, 100)),
      log: opts.log,
      owns: (key) => owns(key.slice(0, key.indexOf('/'))),
      reconcile: async (key) => {
        const obj = this.unlabelled.get(key);
        if (!obj?.metadata.namespace) return;
        if (kind.after && before().some((k) => k.waitingIn(obj.metadata.namespace!))) return { requeueAfterMs: 250 };
        try {
          await kube.mergePatch(type, obj.metadata.namespace, obj.metadata.name, { metadata: { labels: { [SHARD_LABEL]: String(bucketOf(obj.metadata.namespace)) } } });
          metrics.shardLabelled.inc({ kind: type.kind });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
    });
  }

  waitingIn(namespace: string): boolean {
    return this.waiting.has(namespace);
  }

  /** Queues the unlabelled objects of these buckets (just acquired). */
  acquired(buckets: Set<number>): void {
    for (const obj of this.unlabelled.values()) if (buckets.has(bucketOf(obj.metadata.namespace ?? ''))) this.queue.add(objectKey(obj));
  }

  async start(): Promise<void> {
    await this.unlabelled.start();
    this.controller.start();
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.unlabelled.stop();
  }
}

export class ShardLabeler implements Lifecycle {
  private readonly kinds: KindLabeler[];

  constructor(kube: KubeClient, kinds: LabelledKind[], owns: (namespace: string) => boolean, metrics: Metrics, opts: { log: Logger; informer?: Partial<InformerOptions> }) {
    this.kinds = kinds.map((k, i) => new KindLabeler(kube, k, owns, metrics, { ...opts.informer, log: opts.log }, () => this.kinds.slice(0, i)));
  }

  acquired(buckets: Set<number>): void {
    for (const k of this.kinds) k.acquired(buckets);
  }

  async start(): Promise<void> {
    await Promise.all(this.kinds.map((k) => k.start()));
  }

  async stop(): Promise<void> {
    await stopTogether(this.kinds);
  }
}
