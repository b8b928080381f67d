// Reads from Vault / OpenBao: KV v2 (with versions and cheap change
// detection through metadata, where the policy allows it), KV v1, and dynamic
// secrets with leases. A key that starts with "/" is an absolute API path
// outside the KV mount, such as "/database/creds/app"; its credentials are
// per ExternalSecret, renewed at about 2/3 of their TTL, replaced when they
// cannot be renewed, and revoked when the ExternalSecret is deleted.
import type { FindRef, RemoteRef } from '../../api/types.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError, PermissionDeniedError, StoreConfigError } from '../errors.js';
import { MAX_FIND_RESULTS } from '../find.js';
import { extractProperty, toBytes, valueToMap } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import { trimSlashes, type VaultToken } from './auth.js';
import { VaultWriter } from './writer.js';
import { VaultRequestError, type VaultHttp, type VaultResponse } from './http.js';

interface KvSecret {
  data: Record<string, unknown>;
  version?: string;
}

interface Lease {
  id: string;
  data: Record<string, unknown>;
  ttlMs: number;
  endsAt: number;
  renewable: boolean;
}

export class VaultClient implements ProviderClient {
  /** Latest KV v2 value per key, reused while metadata says the version is unchanged. */
  private readonly latest = new Map<string, KvSecret>();
  /** Dynamic credentials held per reader and path. */
  private readonly leases = new Map<string, Promise<Lease>>();
  /**
   * The policy grants `read` on <mount>/data/* but not on <mount>/metadata/*
   * (the least-privilege policy most guides give a reader): read data directly.
   */
  private metadataDenied = false;
  readonly writer: VaultWriter;

  constructor(
    private readonly http: VaultHttp,
    private readonly token: VaultToken,
    private readonly mount: string,
    private readonly kvVersion: 'v1' | 'v2',
  ) {
    this.writer = new VaultWriter((ctx, method, path, what, body) => this.call(ctx, method, path, what, body), mount, kvVersion);
  }

  isShareable(ref: RemoteRef): boolean {
    return !ref.key.startsWith('/');
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const { data, source } = await this.read(ref, ctx);
    const json = toBytes(data);
    return { value: ref.property ? extractProperty(json, ref.key, ref.property) : json, source };
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    const { data, source } = await this.read(ref, ctx);
    return { values: valueToMap(toBytes(data), ref.key, ref.property), sources: [source] };
  }

  async currentVersion(key: string, ctx: CallContext): Promise<string | undefined> {
    if (this.kvVersion !== 'v2' || this.metadataDenied || !this.isShareable({ key })) return undefined;
    return (await this.metadataVersion(ctx, key)) || undefined;
  }

  /** KV v2 custom_metadata, from the metadata endpoint (KV v1 and engine paths have none). */
  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }> {
    if (this.kvVersion !== 'v2' || key.startsWith('/')) throw new StoreConfigError(`metadataPolicy Fetch reads KV v2 custom metadata; "${key}" is ${key.startsWith('/') ? 'an engine path' : 'in a KV v1 mount'}`);
    const meta = await this.call(ctx, 'read', this.path('metadata', key), key);
    return { metadata: (meta.data?.custom_metadata as Record<string, unknown> | null | undefined) ?? {}, source: { key } };
  }

  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    const pattern = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const names = (await this.listRecursive(ctx, trimSlashes(find.path ?? ''))).filter((n) => !pattern || pattern.test(n));
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const name of names) {
      if (find.tags && !(await this.tagsMatch(ctx, name, find.tags))) continue;
      const secret = await this.readKv(ctx, name);
      values[name] = toBytes(secret.data);
      sources.push({ key: name, version: secret.version });
    }
    return { values, sources };
  }

  async validate(ctx: CallContext): Promise<void> {
    await this.call(ctx, 'read', 'auth/token/lookup-self');
  }

  async release(consumer: string, ctx: CallContext): Promise<void> {
    const prefix = `${consumer}\0`;
    for (const [id, lease] of this.leases) {
      if (!id.startsWith(prefix)) continue;
      this.leases.delete(id);
      await this.revoke(ctx, await lease.catch(() => undefined));
    }
  }

  async renewLeases(leases: Array<{ id: string; ttlSeconds: number }>, ctx: CallContext): Promise<Array<Date | undefined>> {
    const out: Array<Date | undefined> = [];
    for (const { id, ttlSeconds } of leases) {
      try {
        const renewed = await this.call(ctx, 'write', 'sys/leases/renew', id, { lease_id: id, increment: ttlSeconds });
        const seconds = renewed.lease_duration ?? 0;
        // As in keepOrReplace: a renewal capped well short of the TTL (max_ttl reached) does not count.
        out.push(seconds * 3 > ttlSeconds ? new Date(Date.now() + seconds * 1000) : undefined);
      } catch (err) {
        ctx.log.info({ err: (err as Error).message }, 'a recorded lease could not be renewed; new credentials follow');
        out.push(undefined);
      }
    }
    return out;
  }

  async revokeLeases(ids: string[], ctx: CallContext): Promise<void> {
    // Vault answers 204 for a lease that is already gone, so a repeat is harmless.
    for (const id of ids) await this.call(ctx, 'write', 'sys/leases/revoke', 'lease', { lease_id: id });
  }

  close(): Promise<void> {
    this.latest.clear();
    return this.http.close();
  }

  private async read(ref: RemoteRef, ctx: CallContext): Promise<{ data: Record<string, unknown>; source: SourceInfo }> {
    if (ref.key.startsWith('/')) {
      const lease = await this.dynamic(ctx, ref.key);
      const recorded = lease.id ? { id: lease.id, ttlSeconds: Math.round(lease.ttlMs / 1000) } : undefined;
      return { data: lease.data, source: { key: ref.key, leaseEndsAt: new Date(lease.endsAt), lease: recorded } };
    }
    const secret = await this.readKv(ctx, ref.key, ref.version);
    return { data: secret.data, source: { key: ref.key, version: secret.version } };
  }

  private path(kind: 'data' | 'metadata', key: string): string {
    return this.kvVersion === 'v2' ? `${this.mount}/${kind}/${trimSlashes(key)}` : `${this.mount}/${trimSlashes(key)}`;
  }

  private async readKv(ctx: CallContext, key: string, version?: string): Promise<KvSecret> {
    if (this.kvVersion === 'v1') {
      if (version !== undefined) throw new NotFoundError(key, 'KV v1 has no versions');
      const response = await this.call(ctx, 'read', this.path('data', key), key);
      return { data: response.data ?? {} };
    }
    let wanted = version;
    if (wanted === undefined && !this.metadataDenied && this.latest.has(key)) {
      // Cheap change detection: metadata first, values only when the version moved.
      // With nothing cached there is nothing to compare: the data read alone says its version.
      const current = await this.metadataVersion(ctx, key);
      const cached = this.latest.get(key);
      if (current !== undefined && cached?.version === current) return cached;
      wanted = current;
    }
    const query = wanted === undefined ? '' : `?version=${encodeURIComponent(wanted)}`;
    const response = await this.call(ctx, 'read', `${this.path('data', key)}${query}`, key).catch((err: unknown) => {
      // Vault answers 404 for a version it does not have, and 400 for one that is not a number.
      const noSuchVersion = err instanceof NotFoundError || (err instanceof VaultRequestError && err.status === 400);
      if (version !== undefined && noSuchVersion) throw new NotFoundError(key, `version "${version}" does not exist`);
      throw err;
    });
    const metadata = response.data?.metadata ?? {};
    if (!response.data?.data || metadata.deletion_time || metadata.destroyed) {
      throw new NotFoundError(key, version !== undefined ? `version "${version}" is deleted` : 'its latest version is deleted');
    }
    const secret = { data: response.data.data, version: String((metadata.version as number | undefined) ?? wanted) };
    if (version === undefined) this.latest.set(key, secret);
    return secret;
  }

  /**
   * The current version from metadata; undefined when that version is deleted
   * or destroyed (a data read reports it), or when the policy denies metadata
   * (remembered).
   */
  private async metadataVersion(ctx: CallContext, key: string): Promise<string | undefined> {
    try {
      const meta = await this.call(ctx, 'read', this.path('metadata', key), key);
      const current = String((meta.data?.current_version as number | undefined) ?? '');
      const versions = meta.data?.versions as Record<string, { deletion_time?: string; destroyed?: boolean }> | undefined;
      const state = versions?.[current];
      return state?.destroyed || state?.deletion_time ? undefined : current;
    } catch (err) {
      if (!(err instanceof PermissionDeniedError)) throw err;
      this.metadataDenied = true;
      ctx.log.info({ mount: this.mount }, 'vault policy denies KV metadata reads; reading data directly from now on');
      return undefined;
    }
  }

  private async listRecursive(ctx: CallContext, prefix: string): Promise<string[]> {
    const out: string[] = [];
    const pending = [prefix];
    while (pending.length > 0 && out.length < MAX_FIND_RESULTS) {
      const dir = pending.shift()!;
      const listPath = this.kvVersion === 'v2' ? `${this.mount}/metadata/${dir}` : `${this.mount}/${dir}`;
      let keys: string[];
      try {
        keys = (await this.call(ctx, 'list', listPath, dir || '/')).data?.keys ?? [];
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

  private async tagsMatch(ctx: CallContext, key: string, tags: Record<string, string>): Promise<boolean> {
    if (this.kvVersion !== 'v2') throw new StoreConfigError('dataFrom.find by tags needs KV v2 (custom_metadata)');
    const meta = await this.call(ctx, 'read', this.path('metadata', key), key);
    const custom = (meta.data?.custom_metadata ?? {}) as Record<string, string>;
    return Object.entries(tags).every(([k, v]) => custom[k] === v);
  }

  /** The reader's credentials for a dynamic path: held, renewed, or new. */
  private dynamic(ctx: CallContext, path: string): Promise<Lease> {
    const id = `${ctx.consumer}\0${path}`;
    const held = this.leases.get(id);
    const next = (held ?? Promise.resolve(undefined)).catch(() => undefined).then((lease) => this.keepOrReplace(ctx, path, lease));
    this.leases.set(id, next);
    next.catch(() => {
      if (this.leases.get(id) === next) this.leases.delete(id);
    });
    return next;
  }

  private async keepOrReplace(ctx: CallContext, path: string, lease: Lease | undefined): Promise<Lease> {
    const now = Date.now();
    if (lease && lease.endsAt - now > lease.ttlMs / 2) return lease; // plenty of life left
    if (lease && lease.renewable && lease.endsAt > now) {
      try {
        const renewed = await this.call(ctx, 'write', 'sys/leases/renew', path, { lease_id: lease.id, increment: Math.round(lease.ttlMs / 1000) });
        const durationMs = (renewed.lease_duration ?? 0) * 1000;
        // A renewal capped well short of the TTL (max_ttl reached) is not worth keeping.
        if (durationMs > lease.ttlMs / 3) return { ...lease, endsAt: Date.now() + durationMs, renewable: renewed.renewable ?? lease.renewable };
      } catch {
        // Cannot renew: new credentials below.
      }
    }
    const response = await this.call(ctx, 'read', trimSlashes(path), path);
    if (lease) void this.revoke(ctx, lease);
    const ttlMs = (response.lease_duration ?? 0) * 1000;
    return {
      id: response.lease_id ?? '',
      data: response.data ?? {},
      ttlMs,
      endsAt: Date.now() + ttlMs,
      renewable: response.renewable ?? false,
    };
  }

  private async revoke(ctx: CallContext, lease: Lease | undefined): Promise<void> {
    if (!lease?.id) return;
    await this.call(ctx, 'write', 'sys/leases/revoke', 'lease', { lease_id: lease.id }).catch(() => undefined);
  }

  /**
   * One request with a valid token; a 403 triggers one fresh login and a
   * retry. `what` names the secret in errors (never the value).
   */
  private async call(ctx: CallContext, method: 'read' | 'write' | 'list' | 'delete', path: string, what = path, body?: Record<string, unknown>): Promise<VaultResponse> {
    try {
      return await this.http.send(ctx, method, path, await this.token.get(ctx), body, what);
    } catch (err) {
      if (!(err instanceof PermissionDeniedError)) throw err;
      this.token.invalidate();
      return this.http.send(ctx, method, path, await this.token.get(ctx), body, what);
    }
  }
}
