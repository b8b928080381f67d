// Reads through a kubernetes store, as External Secrets Operator does: the
// remote key is a Secret's name in remoteNamespace; `property` picks one of
// its keys (or a field of a JSON value, as key.field); without one, a value
// is the Secret's data as a JSON object, and extract gives its keys; find
// selects Secrets by label (tags) and name, each found one as its data's
// JSON; metadataPolicy Fetch reads its labels and annotations.
import type { FindRef, RemoteRef } from '../../api/types.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError, PermissionDeniedError, StoreConfigError } from '../errors.js';
import { MAX_FIND_RESULTS } from '../find.js';
import { extractProperty, toBytes, valueToMap } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import type { ApiSecret, SecretsApi } from './api.js';
import { KubernetesWriter } from './writer.js';

const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));

/** A Secret's data as one JSON object of text values. */
function dataJson(secret: ApiSecret): Uint8Array {
  const text: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) text[k] = Buffer.from(v, 'base64').toString('utf8');
  return toBytes(text);
}

/** The key `property` names; else its first dotted part as a key holding JSON and the rest as a path into it. */
function propertyOf(secret: ApiSecret, key: string, property: string): Uint8Array {
  const data = secret.data ?? {};
  if (Object.hasOwn(data, property)) return bytes(data[property]!);
  const dot = property.indexOf('.');
  const head = dot > 0 ? property.slice(0, dot) : undefined;
  if (head === undefined || !Object.hasOwn(data, head)) throw new NotFoundError(key, `the Secret has no key "${property}"`);
  return extractProperty(bytes(data[head]!), key, property.slice(dot + 1));
}

export class KubernetesClient implements ProviderClient {
  readonly writer: KubernetesWriter;

  constructor(private readonly api: SecretsApi) {
    this.writer = new KubernetesWriter(api);
  }

  private async read(ref: RemoteRef, ctx: CallContext): Promise<{ secret: ApiSecret; source: SourceInfo }> {
    if (ref.version !== undefined) throw new StoreConfigError(`Kubernetes Secrets have no versions: remove remoteRef.version from "${ref.key}"`);
    const secret = await this.api.get(ref.key, ctx);
    if (!secret) throw new NotFoundError(ref.key, `no Secret "${ref.key}" in namespace "${this.api.namespace}"`);
    return { secret, source: { key: ref.key, version: secret.metadata.resourceVersion } };
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const { secret, source } = await this.read(ref, ctx);
    return { value: ref.property ? propertyOf(secret, ref.key, ref.property) : dataJson(secret), source };
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    const { secret, source } = await this.read(ref, ctx);
    if (ref.property) return { values: valueToMap(propertyOf(secret, ref.key, ref.property), ref.key), sources: [source] };
    const values: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) values[k] = bytes(v);
    return { values, sources: [source] };
  }

  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }> {
    const { secret, source } = await this.read({ key }, ctx);
    return { metadata: { labels: secret.metadata.labels ?? {}, annotations: secret.metadata.annotations ?? {} }, source };
  }

  /** Secrets by labels (find.tags, as a label selector the API server applies) and name pattern. */
  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    if (find.path) throw new StoreConfigError('Kubernetes Secrets have no paths: find them by name (find.name.regexp) or labels (find.tags)');
    const name = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const selector = find.tags ? Object.entries(find.tags).map(([k, v]) => `${k}=${v}`).join(',') : undefined;
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const secret of await this.api.list(selector, name ? Number.MAX_SAFE_INTEGER : MAX_FIND_RESULTS, ctx)) {
      if (name && !name.test(secret.metadata.name)) continue;
      values[secret.metadata.name] = dataJson(secret);
      sources.push({ key: secret.metadata.name, version: secret.metadata.resourceVersion });
      if (sources.length >= MAX_FIND_RESULTS) break;
    }
    return { values, sources };
  }

  /** The store works when the API server lets its credentials get Secrets in remoteNamespace. */
  async validate(ctx: CallContext): Promise<void> {
    if (!(await this.api.may('get', ctx))) {
      throw new PermissionDeniedError(`the store's credentials may not get Secrets in namespace "${this.api.namespace}" (a SelfSubjectAccessReview said no)`);
    }
  }

  close(): Promise<void> {
    return this.api.close();
  }
}
