// Kubernetes change events for kubernetes stores: where the store's own
// credentials may list and watch Secrets in its remoteNamespace, the leader
// watches them (metadata only: no value crosses the wire) and each change
// refreshes the readers of that Secret, within the event window, instead of
// at their refreshInterval. Where the credentials may not watch, the store's
// readers refresh on their schedule, and the watch is tried again later.
import type { Logger } from 'pino';
import type { StoreKey } from '../api/store-id.js';
import type { AnyStore } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { ConnectGuard } from '../providers/connect-guard.js';
import { PermissionDeniedError } from '../providers/errors.js';
import type { HostPolicy } from '../providers/host-policy.js';
import { SecretsApi } from '../providers/kubernetes/api.js';
import { connect } from '../providers/kubernetes/connection.js';
import { DEFAULT_REMOTE_NAMESPACE } from '../providers/kubernetes/provider.js';
import { LineSplitter } from '../runtime/line-splitter.js';
import type { RefreshEvents } from './refresh-events.js';
import { pause, pollUntilAborted, type PullSource } from './store-pollers.js';

const SOURCE = 'kubernetes';
/** How long a store whose credentials may not watch waits before trying again. */
const FORBIDDEN_RETRY_MS = 10 * 60_000;

interface WatchEvent {
  type: string;
  object?: { metadata?: { name?: string; resourceVersion?: string }; code?: number };
}

export class KubernetesWatchEvents implements PullSource {
  constructor(
    private readonly kube: KubeClient,
    private readonly events: RefreshEvents,
    private readonly log: Logger,
    private readonly hostPolicy?: HostPolicy,
  ) {}

  configOf(store: AnyStore): string | undefined {
    return store.spec.provider.kubernetes ? JSON.stringify(store.spec.provider.kubernetes) : undefined;
  }

  async poll(key: StoreKey, store: AnyStore, signal: AbortSignal): Promise<void> {
    const spec = store.spec.provider.kubernetes!;
    const remote = spec.remoteNamespace ?? DEFAULT_REMOTE_NAMESPACE;
    const namespace = store.metadata.namespace ?? '';
    const log = this.log.child({ store: key, remoteNamespace: remote });
    const guard = this.hostPolicy && namespace ? new ConnectGuard(this.hostPolicy, 'namespaced SecretStores') : undefined;
    let api: SecretsApi | undefined;
    let forbiddenLogged = false;
    await pollUntilAborted(signal, log, `the Secrets of namespace "${remote}"`, async () => {
      api ??= new SecretsApi(await connect(spec, this.kube, namespace), remote, guard);
      try {
        await this.watchOnce(key, api, signal);
      } catch (err) {
        if (!(err instanceof PermissionDeniedError)) throw err;
        if (!forbiddenLogged) log.info({ err: err.message }, 'the store\'s credentials may not watch these Secrets: its readers refresh on their schedule');
        forbiddenLogged = true;
        await pause(FORBIDDEN_RETRY_MS, signal);
      }
    });
    await api?.close();
  }

  /** One list-then-watch; returns when the watch ends (timeout, or its version expired) so the loop starts again. */
  private async watchOnce(key: StoreKey, api: SecretsApi, signal: AbortSignal): Promise<void> {
    const version = await api.listVersion(signal);
    const splitter = new LineSplitter();
    const decoder = new TextDecoder();
    for await (const chunk of await api.watch(version, signal)) {
      for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as WatchEvent;
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'ERROR') return; // 410 Gone and the like: list again
        const name = event.object?.metadata?.name;
        if (name) this.events.changed({ stores: [key], keys: [name], source: SOURCE });
      }
    }
  }
}
