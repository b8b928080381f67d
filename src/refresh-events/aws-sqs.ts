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
import { pollUntilAborted, type PullSource } from './store-pollers.js';

const SOURCE = 'aws-sqs';
const CHANGES = new Set(['PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret', 'RestoreSecret', 'RotationSucceeded']);

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

export class AwsSqsEvents implements PullSource {
  constructor(private readonly kube: KubeClient, private readonly events: RefreshEvents, private readonly log: Logger) {}

  configOf(store: AnyStore): string | undefined {
    return store.spec.provider.aws?.events ? JSON.stringify(store.spec.provider.aws) : undefined;
  }

  async poll(key: StoreKey, store: AnyStore, signal: AbortSignal): Promise<void> {
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
    await pollUntilAborted(signal, this.log.child({ store: key, queue: queueUrl }), 'SQS', async () => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }), { abortSignal: signal });
      const messages = out.Messages ?? [];
      for (const m of messages) this.handle(key, m.Body ?? '');
      if (messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }), { abortSignal: signal });
      }
    });
    sqs.destroy();
  }

  private handle(store: StoreKey, body: string): void {
    const ids = changedSecretIds(body);
    if (ids === undefined) return this.events.refused(SOURCE, 'malformed');
    for (const id of ids) this.events.changed({ stores: [store], keys: secretKeysOf(id), source: SOURCE });
  }
}
