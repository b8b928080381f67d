// PushSecret writes to a Vault / OpenBao KV mount. KV v2 records the owner in
// the secret's custom_metadata and conditions every write on the version
// inspected (check-and-set), so a change made in between is never
// overwritten. KV v1 has no metadata: ownership is what the PushSecret's
// status says it wrote, and writes cannot be conditioned.
import { ConflictError, NotFoundError, PermissionDeniedError, StoreConfigError } from '../errors.js';
import type { CallContext, RemoteState, RemoteWriter, WriteOptions } from '../provider.js';
import { pushedMap } from '../property.js';

/** custom_metadata keys of a KV v2 secret we wrote. */
export const VAULT_MANAGED_BY = 'managed-by';
export const VAULT_OWNER = 'secretsync-owner';

type Send = (ctx: CallContext, method: 'read' | 'write' | 'delete', path: string, what: string, body?: Record<string, unknown>) => Promise<{ data?: Record<string, unknown> }>;

export class VaultWriter implements RemoteWriter {
  readonly ownership: 'remote' | 'status';
  readonly conditional: boolean;
  readonly exclusiveCreate: boolean;

  constructor(
    private readonly send: Send,
    private readonly mount: string,
    private readonly kvVersion: 'v1' | 'v2',
  ) {
    this.ownership = kvVersion === 'v2' ? 'remote' : 'status';
    this.conditional = kvVersion === 'v2';
    this.exclusiveCreate = kvVersion === 'v2';
  }

  async inspect(key: string, ctx: CallContext): Promise<RemoteState> {
    this.checkKey(key);
    try {
      if (this.kvVersion === 'v1') {
        await this.send(ctx, 'read', `${this.mount}/${key}`, key);
        return { exists: true };
      }
      const meta = (await this.send(ctx, 'read', `${this.mount}/metadata/${key}`, key)).data ?? {};
      const custom = (meta.custom_metadata ?? {}) as Record<string, string>;
      const version = Number(meta.current_version ?? 0);
      // Metadata without a version (written, then every version destroyed) holds no value, but still its owner.
      return { exists: true, owner: custom[VAULT_OWNER], managedBy: custom[VAULT_MANAGED_BY], version: String(version) };
    } catch (err) {
      if (err instanceof NotFoundError) return { exists: false };
      throw denied(err, key);
    }
  }

  async write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }> {
    this.checkKey(key);
    const data = pushedMap(value, key, 'a Vault secret');
    try {
      if (this.kvVersion === 'v1') {
        await this.send(ctx, 'write', `${this.mount}/${key}`, key, data);
        return {};
      }
      if (opts.create || opts.adopt) {
        // Ownership first: from now on nobody else's PushSecret takes the key.
        await this.send(ctx, 'write', `${this.mount}/metadata/${key}`, key, { custom_metadata: { [VAULT_MANAGED_BY]: 'secretsync', [VAULT_OWNER]: opts.owner } });
      }
      const cas = opts.create ? 0 : opts.ifVersion !== undefined ? Number(opts.ifVersion) : undefined;
      const written = await this.send(ctx, 'write', `${this.mount}/data/${key}`, key, { data, ...(cas !== undefined ? { options: { cas } } : {}) });
      const version = written.data?.version;
      return { version: typeof version === 'number' ? String(version) : undefined };
    } catch (err) {
      if (err instanceof ConflictError) throw err;
      throw denied(err, key);
    }
  }

  async remove(key: string, ctx: CallContext): Promise<void> {
    this.checkKey(key);
    try {
      // KV v2: the metadata delete removes every version and the key itself.
      await this.send(ctx, 'delete', this.kvVersion === 'v1' ? `${this.mount}/${key}` : `${this.mount}/metadata/${key}`, key);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw denied(err, key);
    }
  }

  private checkKey(key: string): void {
    if (key.startsWith('/')) throw new StoreConfigError(`"${key}" is an engine path: a PushSecret writes KV secrets under the store's mount`);
  }
}

function denied(err: unknown, key: string): unknown {
  return err instanceof PermissionDeniedError ? new PermissionDeniedError(`permission denied writing "${key}"`) : err;
}
