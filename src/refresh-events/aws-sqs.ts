// AWS Secrets Manager change events, pulled: an EventBridge rule sends
// Secrets Manager's CloudTrail events (PutSecretValue, UpdateSecretVersionStage,
// UpdateSecret, RestoreSecret, RotationSucceeded) to an SQS queue the store
// names (spec.provider.aws.events.sqsQueueURL), and the leader long-polls it
// with the store's own credentials. Pulling needs no inbound traffic, the way
// operators in private clusters take events. Handled messages are deleted;
// a message that is not a Secrets Manager event is counted as malformed and
// deleted too, so it cannot come back forever. Only the queue's writers can
// send events: who they are is the queue policy's business, as in AWS.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { AnyStore } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { storeCredentials } from '../providers/aws/credentials.js';
import type { RefreshEvents } from './refresh-events.js';

const SOURCE = 'aws-sqs';
const CHANGES = new Set(['PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'RestoreSecret', 'RotationSucceeded']);
const MAX_BACKOFF_MS = 60_000;

interface Poller {
  config: string;
  abort: AbortController;
}

/** The remote keys an ExternalSecret may use for a secret id: itself, and for an ARN the secret's name. */
export function secretKeysOf(secretId: string): string[] {
  const arn = /^arn:aws[\w-]*:secretsmanager:[^:]*:\d*:secret:(.+)$/.exec(secretId);
  // An ARN ends in "-" and six random characters that the name does not have.
  return arn ? [secretId, arn[1]!.replace(/-[A-Za-z0-9]{6}$/, '')] : [secretId];
}

/** The secret ids a Secrets Manager event (as EventBridge delivers it) says changed; undefined when it is not one. */
export function changedSecretIds(body: string): string[] | undefined {
  let event: { source?: unknown; detail?: { eventName?: unknown; requestParameters?: { secretId?: unknown }; additionalEventData?: { SecretId?: unknown } } };
  try {
    event = JSON.parse(body) as typeof event;
  } catch {
    return undefined;
  }
  if (event.source !== 'aws.secretsmanager' || typeof event.detail?.eventName !== 'string') return undefined;
  if (!CHANGES.has(event.detail.eventName)) return [];
  const id = event.detail.requestParameters?.secretId ?? event.detail.additionalEventData?.SecretId;
  return typeof id === 'string' && id ? [id] : undefined;
}

export class AwsSqsEvents {
  private readonly pollers = new Map<StoreKey, Poller>();
  private readonly stores = new Map<StoreKey, AnyStore>();
  private leading = false;

  constructor(private readonly kube: KubeClient, private readonly events: RefreshEvents, private readonly log: Logger) {}

  /** A store was added or changed, or (undefined) deleted. */
  storeChanged(key: StoreKey, store: AnyStore | undefined): void {
    if (store?.spec.provider.aws?.events) this.stores.set(key, store);
    else this.stores.delete(key);
    this.reconcile(key);
  }

  /** Only the leader polls: a follower would take messages the leader needs. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    for (const key of new Set([...this.stores.keys(), ...this.pollers.keys()])) this.reconcile(key);
  }

  stop(): void {
    this.setLeading(false);
  }

  private reconcile(key: StoreKey): void {
    const store = this.leading ? this.stores.get(key) : undefined;
    const config = store ? JSON.stringify(store.spec.provider.aws) : undefined;
    const running = this.pollers.get(key);
    if (running && running.config === config) return;
    running?.abort.abort();
    this.pollers.delete(key);
    if (!store || !config) return;
    const poller = { config, abort: new AbortController() };
    this.pollers.set(key, poller);
    void this.poll(key, store, poller.abort.signal);
  }

  private async poll(key: StoreKey, store: AnyStore, signal: AbortSignal): Promise<void> {
    const spec = store.spec.provider.aws!;
    const queueUrl = spec.events!.sqsQueueURL;
    // The SDK is loaded only when some store takes events from SQS.
    const { SQSClient, ReceiveMessageCommand, DeleteMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    const sqs: SQSClient = new SQSClient({
      region: spec.region,
      endpoint: spec.endpoint,
      credentials: storeCredentials(spec, this.kube, store.metadata.namespace ?? '', `secretsync-events-${store.metadata.name}`.slice(0, 64)),
      maxAttempts: 1,
    });
    const log = this.log.child({ store: key, queue: queueUrl });
    log.info('taking change events from SQS');
    let backoffMs = 1000;
    while (!signal.aborted) {
      try {
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }), { abortSignal: signal });
        backoffMs = 1000;
        const messages = out.Messages ?? [];
        for (const m of messages) this.handle(key, m.Body ?? '');
        if (messages.length > 0) {
          await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }), { abortSignal: signal });
        }
      } catch (err) {
        if (signal.aborted) break;
        log.warn({ err: (err as Error).message, retryInMs: backoffMs }, 'could not take change events from SQS');
        await new Promise((resolve) => setTimeout(resolve, backoffMs).unref());
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
    sqs.destroy();
  }

  private handle(store: StoreKey, body: string): void {
    const ids = changedSecretIds(body);
    if (ids === undefined) return this.events.refused(SOURCE, 'malformed');
    for (const id of ids) {
      // One event, one count: the first spelling of the id some ExternalSecret uses, else the id itself.
      const keys = secretKeysOf(id);
      const used = keys.find((k) => this.events.index.readersOf(store, k).size > 0) ?? keys[0]!;
      this.events.changed({ store, key: used, source: SOURCE });
    }
  }
}
