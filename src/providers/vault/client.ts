// Reads from Vault / OpenBao: KV v2 (with versions and cheap change
// detection through metadata), KV v1, and dynamic secrets with leases. A key
// that starts with "/" is an absolute API path outside the KV mount, such as
// "/database/creds/app"; its credentials are per ExternalSecret, renewed at
// about 2/3 of their TTL, replaced when they cannot be renewed, and revoked
// when the ExternalSecret is deleted.
import type { client as VaultApi } from 'node-vault';
import type { FindRef, RemoteRef } from '../../api/types.js';
import { NotFoundError, PermissionDeniedError, StoreConfigError } from '../errors.js';
import { extractProperty, toBytes } from '../property.js';
import type { ProviderClient, ReadContext, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import { trimSlashes, type VaultToken } from './auth.js';

const MAX_FIND_RESULTS = 1000;

interface KvSecret {
  data: Record<string, unknown>;
  version?: string;
}

interface Lease {
  id: string;
  data: Record<string, unknown>;
  ttlMs: number;
  expiresAt: number;
  renewable: boolean;
}

interface VaultResponse {
  data?: Record<string, unknown> & { data?: Record<string, unknown>; metadata?: Record<string, unknown>; keys?: string[] };
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
}

/** Maps a node-vault failure to a typed error; messages carry paths, never values. */
export function vaultError(err: unknown, path: string, server: string): Error {
  const e = err as { response?: { statusCode?: number }; code?: string; message?: string };
  const status = e.response?.statusCode;
  if (status === 404) return new NotFoundError(path);
  if (status === 403) return new PermissionDeniedError(`permission denied reading "${path}"`);
  if (status === 503) return new Error(`vault at ${server} is sealed or unavailable`);
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.code === 'ECONNABORTED') {
    return new Error(`cannot reach vault at ${server} (${e.code})`);
  }
  return new Error(`vault request for "${path}" failed${status ? ` with HTTP ${status}` : ''}: ${(e.message ?? '').split('\n')[0]}`);
}

export class VaultClient implements ProviderClient {
  /** Latest KV v2 value per key, reused while metadata says the version is unchanged. */
  private readonly latest = new Map<string, KvSecret>();
  /** Dynamic credentials held per reader and path. */
  private readonly leases = new Map<string, Promise<Lease>>();

  constructor(
    private readonly api: VaultApi,
    private readonly token: VaultToken,
    private readonly mount: string,
    private readonly kvVersion: 'v1' | 'v2',
    private readonly server: string,
  ) {}

  isShareable(ref: RemoteRef): boolean {
    return !ref.key.startsWith('/');
  }

  async getSecret(ref: RemoteRef, ctx?: ReadContext): Promise<RemoteValue> {
    const { data, source } = await this.read(ref, ctx);
    const json = toBytes(data);
    return { value: ref.property ? extractProperty(json, ref.key, ref.property) : json, source };
  }

  async getSecretMap(ref: RemoteRef, ctx?: ReadContext): Promise<RemoteValues> {
    const { data, source } = await this.read(ref, ctx);
    let node: unknown = data;
    if (ref.property) node = JSON.parse(Buffer.from(extractProperty(toBytes(data), ref.key, ref.property)).toString('utf8'));
    if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new NotFoundError(ref.key, `property "${ref.property}" is not an object`);
    const values: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) values[k] = toBytes(v);
    return { values, sources: [source] };
  }

  async findSecrets(find: FindRef): Promise<RemoteValues> {
    const pattern = find.name ? new RegExp(find.name.regexp) : undefined;
    const names = (await this.listRecursive(trimSlashes(find.path ?? ''))).filter((n) => !pattern || pattern.test(n));
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const name of names) {
      if (find.tags && !(await this.tagsMatch(name, find.tags))) continue;
      const secret = await this.readKv(name);
      values[name] = toBytes(secret.data);
      sources.push({ key: name, version: secret.version });
    }
    return { values, sources };
  }

  async validate(): Promise<void> {
    await this.call('auth/token/lookup-self', () => this.api.tokenLookupSelf());
  }

  async release(consumer: string): Promise<void> {
    const prefix = `${consumer}\0`;
    for (const [id, lease] of this.leases) {
      if (!id.startsWith(prefix)) continue;
      this.leases.delete(id);
      await this.revoke(await lease.catch(() => undefined));
    }
  }

  close(): Promise<void> {
    this.latest.clear();
    return Promise.resolve();
  }

  private async read(ref: RemoteRef, ctx?: ReadContext): Promise<{ data: Record<string, unknown>; source: SourceInfo }> {
    if (ref.key.startsWith('/')) {
      const lease = await this.dynamic(ref.key, ctx?.consumer ?? '');
      return { data: lease.data, source: { key: ref.key, expiresAt: new Date(lease.expiresAt) } };
    }
    const secret = await this.readKv(ref.key, ref.version);
    return { data: secret.data, source: { key: ref.key, version: secret.version } };
  }

  private path(kind: 'data' | 'metadata', key: string): string {
    return this.kvVersion === 'v2' ? `${this.mount}/${kind}/${trimSlashes(key)}` : `${this.mount}/${trimSlashes(key)}`;
  }

  private async readKv(key: string, version?: string): Promise<KvSecret> {
    if (this.kvVersion === 'v1') {
      if (version !== undefined) throw new NotFoundError(key, 'KV v1 has no versions');
      const response = await this.call(key, () => this.api.read(this.path('data', key)) as Promise<VaultResponse>);
      return { data: response.data ?? {} };
    }
    if (version !== undefined && !/^\d+$/.test(version)) throw new NotFoundError(key, `version "${version}" does not exist`);
    let wanted = version;
    if (wanted === undefined) {
      // Cheap change detection: metadata first, values only when the version moved.
      const meta = await this.call(key, () => this.api.read(this.path('metadata', key)) as Promise<VaultResponse>);
      wanted = String((meta.data?.current_version as number | undefined) ?? '');
      const cached = this.latest.get(key);
      if (cached && cached.version === wanted) return cached;
    }
    const response = await this.call(key, () => this.api.read(`${this.path('data', key)}?version=${wanted}`) as Promise<VaultResponse>);
    const metadata = response.data?.metadata ?? {};
    if (!response.data?.data || metadata.deletion_time || metadata.destroyed) {
      throw new NotFoundError(key, version !== undefined ? `version "${version}" is deleted` : 'its latest version is deleted');
    }
    const secret = { data: response.data.data, version: String((metadata.version as number | undefined) ?? wanted) };
    if (version === undefined) this.latest.set(key, secret);
    return secret;
  }

  private async listRecursive(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const pending = [prefix];
    while (pending.length > 0 && out.length < MAX_FIND_RESULTS) {
      const dir = pending.shift()!;
      const listPath = this.kvVersion === 'v2' ? `${this.mount}/metadata/${dir}` : `${this.mount}/${dir}`;
      let keys: string[];
      try {
        keys = ((await this.call(dir || '/', () => this.api.list(listPath) as Promise<VaultResponse>)).data?.keys ?? []);
      } catch (err) {
        if (err instanceof NotFoundError) continue;
        throw err;
      }
      for (const k of keys) {
        const full = dir ? `${dir}/${k}` : k;
        if (k.endsWith('/')) pending.push(full.replace(/\/+$/, ''));
        else out.push(full);
      }
    }
    return out.slice(0, MAX_FIND_RESULTS);
  }

  private async tagsMatch(key: string, tags: Record<string, string>): Promise<boolean> {
    if (this.kvVersion !== 'v2') throw new StoreConfigError('dataFrom.find by tags needs KV v2 (custom_metadata)');
    const meta = await this.call(key, () => this.api.read(this.path('metadata', key)) as Promise<VaultResponse>);
    const custom = (meta.data?.custom_metadata ?? {}) as Record<string, string>;
    return Object.entries(tags).every(([k, v]) => custom[k] === v);
  }

  /** The reader's credentials for a dynamic path: held, renewed, or new. */
  private dynamic(path: string, consumer: string): Promise<Lease> {
    const id = `${consumer}\0${path}`;
    const held = this.leases.get(id);
    const next = (held ?? Promise.resolve(undefined)).catch(() => undefined).then((lease) => this.keepOrReplace(path, lease));
    this.leases.set(id, next);
    next.catch(() => {
      if (this.leases.get(id) === next) this.leases.delete(id);
    });
    return next;
  }

  private async keepOrReplace(path: string, lease: Lease | undefined): Promise<Lease> {
    const now = Date.now();
    if (lease && lease.expiresAt - now > lease.ttlMs / 2) return lease; // plenty of life left
    if (lease && lease.renewable && lease.expiresAt > now) {
      try {
        const renewed = (await this.call(path, () => this.api.write('sys/leases/renew', { lease_id: lease.id, increment: Math.round(lease.ttlMs / 1000) }))) as VaultResponse;
        const durationMs = (renewed.lease_duration ?? 0) * 1000;
        // A renewal capped well short of the TTL (max_ttl reached) is not worth keeping.
        if (durationMs > lease.ttlMs / 3) return { ...lease, expiresAt: Date.now() + durationMs, renewable: renewed.renewable ?? lease.renewable };
      } catch {
        // Cannot renew: new credentials below.
      }
    }
    const response = await this.call(path, () => this.api.read(trimSlashes(path)) as Promise<VaultResponse>);
    if (lease) void this.revoke(lease);
    const ttlMs = (response.lease_duration ?? 0) * 1000;
    return {
      id: response.lease_id ?? '',
      data: response.data ?? {},
      ttlMs,
      expiresAt: Date.now() + ttlMs,
      renewable: response.renewable ?? false,
    };
  }

  private async revoke(lease: Lease | undefined): Promise<void> {
    if (!lease?.id) return;
    await this.call('sys/leases/revoke', () => this.api.write('sys/leases/revoke', { lease_id: lease.id })).catch(() => undefined);
  }

  /** Runs a request with a valid token; one 403 triggers a fresh login and a retry. */
  private async call<T>(path: string, fn: () => Promise<T>): Promise<T> {
    await this.token.get();
    try {
      return await fn();
    } catch (err) {
      if ((err as { response?: { statusCode?: number } }).response?.statusCode === 403) {
        this.token.invalidate();
        await this.token.get();
        try {
          return await fn();
        } catch (retryErr) {
          throw vaultError(retryErr, path, this.server);
        }
      }
      throw vaultError(err, path, this.server);
    }
  }
}
