// What the steps of one ExternalSecret sync hand each other (reconciler.ts:
// begin, decide, fetch, write, record).
import type { ExternalSecret } from '../../api/types.js';
import type { KubeObject } from '../../kube/types.js';
import type { generate } from '../../generators/generated.js';
import type { GeneratorState } from '../../generators/state.js';
import type { StoreClient } from '../../providers/store-client.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import type { creationPolicy } from '../../secrets/desired-secret.js';
import type { FetchedData } from '../../secrets/fetch-data.js';
import type { StoreResolver } from '../../secrets/store-resolver.js';
import type { TargetSecrets } from './target-secret.js';

/** What every step of one sync reads (begin()). */
export interface SyncRun {
  es: ExternalSecret;
  now: number;
  ctx: ReconcileContext;
  policy: ReturnType<typeof creationPolicy>;
  /** The target Secret's name. */
  name: string;
  namespace: string;
  /** The ExternalSecret's key. */
  key: string;
  refreshPolicy: string;
  intervalMs: number;
  /** The target Secret as the cache holds it (metadata only). */
  cached: KubeObject | undefined;
  forceValue: string | undefined;
  /** A force-sync annotation not yet honoured. */
  forced: boolean;
  resolved: ReturnType<StoreResolver['resolve']> | undefined;
  version: string;
  /** When a provider event said a remote value changed, if that is what this sync answers. */
  afterEvent: number | undefined;
}

/** What fetch() read, and the generator state it came with. */
export interface Fetched {
  client: StoreClient | undefined;
  data: FetchedData;
  generated: Awaited<ReturnType<typeof generate>> | undefined;
  previousState: string | undefined;
  previousGenerated: GeneratorState;
}

/** What write() did: the ExternalSecret as it now is (a finalizer may have been added), the write, the Secret's key count. */
export interface Written {
  es: ExternalSecret;
  written: Awaited<ReturnType<TargetSecrets['write']>>;
  keys: number;
}
