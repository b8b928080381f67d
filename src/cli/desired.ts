// The Secret an ExternalSecret would produce, computed outside the operator
// with the operator's own code: the store's provider (its SDK loads only
// then) and credentials, or given values for template work, then fetchData,
// shapeSecret and buildDesiredSecret as a reconcile runs them.
import { randomBytes } from 'node:crypto';
import { Reason } from '../api/reasons.js';
import { storeIdOf, storeKey } from '../api/store-id.js';
import type { AnyStore, ExternalSecret, StoreKind } from '../api/types.js';
import { buildDesiredSecret } from '../secrets/desired-secret.js';
import { fetchData, generatorUses } from '../secrets/fetch-data.js';
import { generate } from '../generators/generated.js';
import { shapeSecret } from '../secrets/shape.js';
import { readTemplateSource } from '../secrets/template-source.js';
import { SyncError } from '../secrets/sync-error.js';
import { toSyncError } from '../secrets/errors.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceType, Secret } from '../kube/types.js';
import { createLogger } from '../runtime/log.js';
import { Metrics } from '../runtime/metrics.js';
import { loadProvider, providerName } from '../providers/registry.js';
import { StoreClient } from '../providers/store-client.js';
import { storeProblems } from '../validation/semantic.js';

/** Where credential Secrets and templateFrom sources come from: manifests given on the command line, else a cluster. */
export class ObjectSource {
  constructor(
    private readonly local: KubeObject[],
    private readonly cluster?: KubeClient,
  ) {}

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    const found = this.local.find((o) => o.kind === type.kind && o.metadata.name === name && (o.metadata.namespace ?? namespace) === namespace);
    if (found) return found as T;
    return this.cluster?.getOrUndefined<T>(type, namespace, name);
  }

  /** A KubeClient for the providers: reads as above; minting tokens needs a cluster. */
  asKubeClient(): KubeClient {
    const noCluster = () => Promise.reject(new Error('this store mints ServiceAccount tokens: run with a kubeconfig (--kubeconfig or the current context)'));
    return {
      getOrUndefined: (type: ResourceType, ns: string | undefined, name: string) => this.get(type, ns, name),
      get: async (type: ResourceType, ns: string | undefined, name: string) => {
        const obj = await this.get(type, ns, name);
        if (!obj) throw new Error(`${type.kind} "${ns}/${name}" not found in the given files${this.cluster ? ' or the cluster' : ''}`);
        return obj;
      },
      createToken: (...args: Parameters<KubeClient['createToken']>) => (this.cluster ? this.cluster.createToken(...args) : noCluster()),
      acceptsToken: (token: string) => (this.cluster ? this.cluster.acceptsToken(token) : noCluster()),
    } as unknown as KubeClient;
  }
}

export interface DesiredResult {
  secret: Secret;
  /** Decoded data, for masking or diffing (never printed unless asked). */
  data: Record<string, Uint8Array>;
}

/** Values for `--values`: a YAML/JSON map of key to string. */
export type GivenValues = Record<string, string>;

export async function desiredSecret(es: ExternalSecret, store: AnyStore | undefined, sources: ObjectSource, values?: GivenValues): Promise<DesiredResult> {
  const namespace = es.metadata.namespace ?? 'default';
  const withNs: ExternalSecret = { ...es, metadata: { ...es.metadata, namespace, uid: es.metadata.uid ?? '00000000-0000-0000-0000-000000000000' } };
  let data: Record<string, Uint8Array>;
  if (values) {
    data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(String(v), 'utf8')]));
  } else {
    if (!store && withNs.spec.secretStoreRef) throw new SyncError(Reason.StoreNotFound, 'no store given: pass --store <file> (or --values <file> to render without a provider)', false);
    data = (await fetchThroughStore(withNs, store, sources)).data;
  }
  const shaped = await shapeSecret(withNs, data, { readSource: (kind, name) => readTemplateSource((type, ns, n) => sources.get(type, ns, n), namespace, kind, name) });
  const desired = buildDesiredSecret(withNs, shaped, randomBytes(32));
  return { secret: desired.body, data: shaped.data };
}

/**
 * Fetches as a reconcile does. Generators run here, reading their specs and
 * credentials from the given files or the cluster: their values are new ones
 * (the operator keeps the ones it generated in the Secret it writes).
 */
async function fetchThroughStore(es: ExternalSecret, store: AnyStore | undefined, sources: ObjectSource): Promise<{ data: Record<string, Uint8Array> }> {
  const log = createLogger('silent');
  const signal = AbortSignal.timeout(60_000);
  const opts = { maxAgeMs: 0, consumer: `${es.metadata.namespace}/${es.metadata.name}`, signal, log };
  const uses = generatorUses(es.spec);
  let generated;
  try {
    generated = uses.length > 0 ? (await generate(uses, { namespace: es.metadata.namespace!, kube: sources.asKubeClient(), previous: {}, now: Date.now(), signal, log })).bySlot : undefined;
    if (!store) return await fetchData(undefined, es.spec, opts, generated);
  } catch (err) {
    throw toSyncError(err);
  }
  const kind: StoreKind = store.kind === 'ClusterSecretStore' ? 'ClusterSecretStore' : 'SecretStore';
  const name = providerName(store.spec.provider);
  const { problems, provider } = await storeProblems(store, loadProvider);
  if (!name || !provider || problems.length > 0) throw new SyncError(Reason.StoreNotReady, `store "${store.metadata.name}" is invalid: ${problems.join('; ')}`, false);
  const namespace = kind === 'SecretStore' ? (store.metadata.namespace ?? es.metadata.namespace!) : (es.metadata.namespace ?? 'default');
  const client = await provider.newClient({ store: { ...store, metadata: { ...store.metadata, namespace: kind === 'SecretStore' ? namespace : undefined } }, namespace, kube: sources.asKubeClient() });
  const wrapped = new StoreClient(name, storeKey(storeIdOf(store, kind)), client, new Metrics(), store.spec.rateLimit, 30_000);
  try {
    return await fetchData(wrapped, es.spec, opts, generated);
  } catch (err) {
    throw toSyncError(err);
  } finally {
    await wrapped.close();
  }
}
