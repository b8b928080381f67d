// Records core/v1 Events about our objects. Callers emit on transitions, and
// repeats of the same event within a window are folded into a count, so a
// failing object cannot flood the API server. Normal events share a budget
// (a burst, then a few per second): on a first sync of thousands of
// ExternalSecrets they would double the API server's write load for news
// nobody reads, so beyond the budget they are counted and dropped. Warnings
// are never dropped.
import type { Logger } from 'pino';
import { TokenBucket } from '../util/token-bucket.js';
import type { KubeClient } from './client.js';
import { Resources, type KubeObject } from './types.js';

const REPEAT_WINDOW_MS = 10 * 60_000;
const NORMAL_BURST = 50;
const NORMAL_PER_SECOND = 5;

export class EventRecorder {
  private readonly recent = new Map<string, { at: number; name: string; count: number }>();

  private readonly normalBudget = new TokenBucket(NORMAL_PER_SECOND, NORMAL_BURST);

  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger,
    private readonly onDropped: () => void = () => undefined,
    private readonly component = 'secretsync',
  ) {}

  /** Fire-and-forget: a failed event never fails a reconcile. */
  emit(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (type === 'Normal' && !this.normalBudget.tryTake()) {
      this.onDropped();
      return;
    }
    void this.record(obj, type, reason, message).catch((err: unknown) =>
      this.log.debug({ err: (err as Error).message, reason }, 'could not record event'),
    );
  }

  private async record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid}\0${type}\0${reason}\0${message}`;
    const now = Date.now();
    const seen = this.recent.get(key);
    const timestamp = new Date(now).toISOString();
    if (seen && now - seen.at < REPEAT_WINDOW_MS) {
      seen.count++;
      seen.at = now;
      await this.kube.mergePatch(Resources.Event, namespace, seen.name, { count: seen.count, lastTimestamp: timestamp });
      return;
    }
    this.prune(now);
    const name = `${obj.metadata.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    this.recent.set(key, { at: now, name, count: 1 });
    await this.kube.create(Resources.Event, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: { component: this.component },
      reportingComponent: this.component,
    } as KubeObject);
  }

  private prune(now: number): void {
    if (this.recent.size < 10_000) return;
    for (const [k, v] of this.recent) if (now - v.at > REPEAT_WINDOW_MS) this.recent.delete(k);
  }
}
