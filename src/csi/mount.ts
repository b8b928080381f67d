// One mount: the Secret an ExternalSecret (or a store and a list of remote
// refs) would produce, computed exactly as a reconcile computes it (fetch,
// rewrite, decode, templates), returned as files, and nothing written to the
// API server. The rules are the operator's: an ExternalSecret and a
// SecretStore only of the Pod's own namespace, a ClusterSecretStore only
// where its conditions admit that namespace, credentials read under the
// store's namespace rule, and a store that authenticates as a ServiceAccount
// does so as the Pod (pod-identity.ts). Reads go through shared store
// clients, so Pods mounting the same keys share provider reads and budgets.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Reason } from '../api/reasons.js';
import { storeIdOf, storeKey } from '../api/store-id.js';
import type { AnyStore, ExternalSecret } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { Resources, type KubeObject } from '../kube/types.js';
import { providerReferences } from '../providers/credentials.js';
import { loadProvider } from '../providers/registry.js';
import { StoreClients } from '../providers/store-clients.js';
import type { Metrics } from '../runtime/metrics.js';
import { toSyncError } from '../secrets/errors.js';
import { fetchData, generatorUses } from '../secrets/fetch-data.js';
import { namespaceAdmitted } from '../secrets/namespace-conditions.js';
import { shapeSecret } from '../secrets/shape.js';
import { SyncError } from '../secrets/sync-error.js';
import { readTemplateSource } from '../secrets/template-source.js';
import { storeProblems } from '../validation/semantic.js';
import { parseMount, type MountObject, type MountParams } from './attributes.js';
import { podIdentityKube } from './pod-identity.js';

export interface MountedFile {
  path: string;
  mode: number;
  contents: Uint8Array;
}

export interface Mounted {
  files: MountedFile[];
  /** One per file: its path and a digest of its contents (the driver reports them, and sends them back on rotation). */
  versions: Array<{ id: string; version: string }>;
}

export interface MounterOptions {
  kube: KubeClient;
  metrics: Metrics;
  log: Logger;
  /** Deadline of one provider call. */
  callTimeoutMs: number;
  /** A provider answer this recent is shared with other mounts of the same key (0: every mount reads). */
  reuseReadsMs: number;
  /**
   * A store client made with static credentials is made again after this
   * long. The operator renews one when its credential Secret changes (it
   * watches them); the plugin reads them only when it makes a client, so a
   * rotated credential is taken up within this time.
   */
  rereadCredentialsMs: number;
}

/** Pod identities whose store clients are kept (each holds its own shared reads), least recently used dropped first. */
const MAX_IDENTITIES = 256;


export class Mounter {
  private readonly shared: StoreClients;
  private readonly byIdentity = new Map<string, StoreClients>();
  /** When each static store's client was first used (its key), to make it again after rereadCredentialsMs. */
  private readonly staticSince = new Map<string, number>();

  constructor(private readonly opts: MounterOptions) {
    this.shared = new StoreClients(opts.kube, opts.metrics, { callTimeoutMs: opts.callTimeoutMs });
  }

  async mount(attributes: string, permission: string, signal: AbortSignal): Promise<Mounted> {
    const params = parseMount(attributes, permission);
    const es = await this.externalSecret(params);
    const store = es.spec.secretStoreRef ? await this.store(es, params.podNamespace) : undefined;
    const log = this.opts.log.child({ pod: `${params.podNamespace}/${params.podName}` });
    if (generatorUses(es.spec).length > 0) throw new SyncError(Reason.GeneratorError, 'generators keep their state in the Secret they write, and a mount writes none: read generated values through an ExternalSecret (a Secret) instead', false);
    let data: Record<string, Uint8Array>;
    try {
      const client = store ? await this.clientsFor(store, params).get(store.store, store.kind) : undefined;
      const consumer = `csi/${params.podNamespace}/${params.podName}`;
      data = (await fetchData(client, es.spec, { maxAgeMs: this.opts.reuseReadsMs, consumer, signal, log })).data;
    } catch (err) {
      throw toSyncError(err);
    }
    const shaped = await shapeSecret(es, data, { readSource: (kind, name) => readTemplateSource((type, ns, n) => this.opts.kube.getOrUndefined(type, ns, n), params.podNamespace, kind, name) });
    return files(shaped.data, params.mode);
  }

  close(): Promise<void> {
    return Promise.all([this.shared, ...this.byIdentity.values()].map((c) => c.closeAll())).then(() => undefined);
  }

  /** The ExternalSecret by name in the Pod's namespace, or one made of the store and objects parameters. */
  private async externalSecret(params: MountParams): Promise<ExternalSecret> {
    const source = params.source;
    if ('externalSecret' in source) {
      const es = await this.opts.kube.getOrUndefined<ExternalSecret>(Resources.ExternalSecret, params.podNamespace, source.externalSecret);
      if (!es) throw new SyncError(Reason.StoreNotFound, `ExternalSecret "${source.externalSecret}" not found in namespace "${params.podNamespace}" (a mount reads only ExternalSecrets of its Pod's namespace)`, false);
      return es;
    }
    return {
      apiVersion: 'secretsync.dev/v1alpha1', kind: 'ExternalSecret',
      metadata: { name: `csi-${params.podName}`, namespace: params.podNamespace, uid: '00000000-0000-0000-0000-000000000000' },
      spec: { secretStoreRef: { name: source.store, kind: source.storeKind }, data: source.objects.map((o) => ({ secretKey: fileName(o), remoteRef: { key: o.key, property: o.property, version: o.version, decodingStrategy: o.decodingStrategy } })) },
    };
  }

  /** The store the ExternalSecret names, under the operator's rules for the Pod's namespace. */
  private async store(es: ExternalSecret, namespace: string): Promise<{ store: AnyStore; kind: 'SecretStore' | 'ClusterSecretStore' }> {
    const ref = es.spec.secretStoreRef!;
    const kind = ref.kind ?? 'SecretStore';
    const store = kind === 'SecretStore'
      ? await this.opts.kube.getOrUndefined<AnyStore>(Resources.SecretStore, namespace, ref.name)
      : await this.opts.kube.getOrUndefined<AnyStore>(Resources.ClusterSecretStore, undefined, ref.name);
    if (!store) throw new SyncError(Reason.StoreNotFound, `${kind} "${ref.name}" not found${kind === 'SecretStore' ? ` in namespace "${namespace}"` : ''}`, false);
    if (kind === 'ClusterSecretStore') {
      const labels = (await this.opts.kube.getOrUndefined<KubeObject>(Resources.Namespace, undefined, namespace))?.metadata.labels ?? {};
      if (!namespaceAdmitted(store.spec.conditions, namespace, labels)) {
        throw new SyncError(Reason.StoreNotAllowed, `ClusterSecretStore "${ref.name}" does not admit namespace "${namespace}" (see its spec.conditions)`, false);
      }
    }
    const { problems } = await storeProblems(store, loadProvider);
    if (problems.length > 0) throw new SyncError(Reason.StoreNotReady, `${kind} "${ref.name}" is invalid: ${problems.join('; ')}`, false);
    return { store, kind };
  }

  /**
   * The store clients a mount reads through: the plugin's own for stores
   * with static credentials, one set per Pod identity (namespace,
   * ServiceAccount and token) for stores that authenticate as a ServiceAccount.
   */
  private clientsFor(store: { store: AnyStore; kind: 'SecretStore' | 'ClusterSecretStore' }, params: MountParams): StoreClients {
    const takesServiceAccount = providerReferences(store.store.spec.provider).some((r) => r.kind === 'ServiceAccount');
    if (!takesServiceAccount) {
      const key = storeKey(storeIdOf(store.store, store.kind));
      const since = this.staticSince.get(key);
      if (since === undefined || Date.now() - since > this.opts.rereadCredentialsMs) {
        if (since !== undefined) void this.shared.drop(key);
        this.staticSince.set(key, Date.now());
      }
      return this.shared;
    }
    const tokens = Object.values(params.tokens).map((t) => t.token).sort().join(',');
    const key = `${params.podNamespace}/${params.serviceAccount}#${createHash('sha256').update(tokens).digest('hex').slice(0, 16)}`;
    let clients = this.byIdentity.get(key);
    if (clients) {
      this.byIdentity.delete(key);
    } else {
      const kube = podIdentityKube(this.opts.kube, { namespace: params.podNamespace, serviceAccount: params.serviceAccount }, params.tokens);
      clients = new StoreClients(kube, this.opts.metrics, { callTimeoutMs: this.opts.callTimeoutMs });
      const [oldest] = this.byIdentity.keys();
      if (this.byIdentity.size >= MAX_IDENTITIES && oldest !== undefined) {
        void this.byIdentity.get(oldest)!.closeAll();
        this.byIdentity.delete(oldest);
      }
    }
    this.byIdentity.set(key, clients);
    return clients;
  }
}

/** The file a simple-case object becomes: its path, or the last part of its key. */
function fileName(o: MountObject): string {
  return o.path ?? o.key.split('/').filter(Boolean).at(-1) ?? o.key;
}

/** The Secret's data as files (its keys are file names: a Secret key has no "/" and is never "." or ".."). */
function files(data: Record<string, Uint8Array>, mode: number): Mounted {
  const out: Mounted = { files: [], versions: [] };
  for (const [path, contents] of Object.entries(data).sort(([a], [b]) => a.localeCompare(b))) {
    if (!/^[-._a-zA-Z0-9]+$/.test(path) || path === '.' || path === '..') throw new SyncError(Reason.InvalidData, `"${path}" cannot be a file name in the mount`, false);
    out.files.push({ path, mode, contents });
    out.versions.push({ id: path, version: createHash('sha256').update(contents).digest('hex').slice(0, 16) });
  }
  return out;
}

