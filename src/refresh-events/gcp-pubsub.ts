// Google Secret Manager change events, pulled: a secret's notification topic
// (Secret Manager's `topics`) gets SECRET_VERSION_ADD and SECRET_ROTATE
// messages, and the leader pulls them from the subscription the store names
// (spec.provider.gcpsm.events.subscription) with the store's own credentials
// and endpoint, through @google-cloud/pubsub (loaded only then). Handled
// messages are acknowledged; one without a secretId is counted as malformed
// and acknowledged too, so it cannot come back forever.
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { AnyStore } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { storeAuth } from '../providers/gcpsm/credentials.js';
import { endpointOf } from '../providers/gcpsm/provider.js';
import type { RefreshEvents } from './refresh-events.js';
import { pollUntilAborted, type PullSource } from './store-pollers.js';

const SOURCE = 'gcp-pubsub';
const CHANGES = new Set(['SECRET_VERSION_ADD', 'SECRET_ROTATE']);

/** The keys an ExternalSecret may use for a secret: its full name and its short name. */
export function gcpSecretKeysOf(secretId: string): string[] {
  const short = /\/secrets\/([^/]+)$/.exec(secretId)?.[1];
  return short ? [short, secretId] : [secretId];
}

export class GcpPubSubEvents implements PullSource {
  constructor(private readonly kube: KubeClient, private readonly events: RefreshEvents, private readonly log: Logger) {}

  configOf(store: AnyStore): string | undefined {
    return store.spec.provider.gcpsm?.events ? JSON.stringify(store.spec.provider.gcpsm) : undefined;
  }

  async poll(key: StoreKey, store: AnyStore, signal: AbortSignal): Promise<void> {
    const spec = store.spec.provider.gcpsm!;
    const subscription = spec.events!.subscription;
    const log = this.log.child({ store: key, subscription });
    const { v1 } = await import('@google-cloud/pubsub');
    let client: InstanceType<typeof v1.SubscriberClient> | undefined;
    signal.addEventListener('abort', () => void client?.close(), { once: true });
    await pollUntilAborted(signal, log, 'Pub/Sub', async () => {
      if (!client) {
        const authClient = await storeAuth(spec, this.kube, store.metadata.namespace ?? '');
        // Pub/Sub has an API host of its own; the store's endpoint is Secret Manager's.
        const endpoint = spec.events!.endpoint ? endpointOf(spec.events!.endpoint, undefined) : {};
        client = new v1.SubscriberClient({ ...endpoint, projectId: spec.projectID, ...(authClient ? { authClient } : {}) });
      }
      const [response] = await client.pull({ subscription, maxMessages: 100 }, { timeout: 30_000, retry: null });
      const received = response.receivedMessages ?? [];
      for (const m of received) this.handle(key, m.message?.attributes ?? {});
      const ackIds = received.map((m) => m.ackId).filter((id): id is string => typeof id === 'string');
      if (ackIds.length > 0) await client.acknowledge({ subscription, ackIds });
    });
    await client?.close();
  }

  private handle(store: StoreKey, attributes: Record<string, string>): void {
    const secretId = attributes.secretId;
    if (!secretId) return this.events.refused(SOURCE, 'malformed');
    if (!CHANGES.has(attributes.eventType ?? '')) return;
    this.events.changed({ stores: [store], keys: gcpSecretKeysOf(secretId), source: SOURCE });
  }
}
