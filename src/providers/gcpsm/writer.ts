// PushSecret writes to Google Secret Manager. A secret we create carries the
// label `managed-by: secretsync` and the owner in the annotation
// `secretsync-owner` (label values cannot hold a namespace/name); each push
// adds a version. Secret Manager cannot condition AddSecretVersion on the
// latest version, so the controller's inspect-then-write is as close as it
// gets. Deletion deletes the secret and all its versions (Secret Manager has
// no soft delete).
import type { SecretManagerApi } from './api.js';
import { NotFoundError, StoreConfigError } from '../errors.js';
import type { CallContext, RemoteState, RemoteWriter, WriteOptions } from '../provider.js';
import { crc32c } from '../../util/crc32c.js';

export const GCP_MANAGED_BY = 'managed-by';
export const GCP_OWNER = 'secretsync-owner';
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

type Call = <T>(ctx: CallContext, key: string, rpc: (opts: { timeout: number; retry: null }) => Promise<T> & { cancel?: () => void }) => Promise<T>;

export class GcpSmWriter implements RemoteWriter {
  readonly ownership = 'remote' as const;
  readonly conditional = false;
  readonly exclusiveCreate = true;

  constructor(
    private readonly sm: SecretManagerApi,
    private readonly parent: string,
    private readonly call: Call,
  ) {}

  async inspect(key: string, ctx: CallContext): Promise<RemoteState> {
    const name = this.name(key);
    let owner: string | undefined;
    let managedBy: string | undefined;
    try {
      const [secret] = await this.call(ctx, key, (o) => this.sm.getSecret({ name }, o));
      owner = secret.annotations?.[GCP_OWNER];
      managedBy = secret.labels?.[GCP_MANAGED_BY] ?? undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return { exists: false };
      throw err;
    }
    try {
      const [latest] = await this.call(ctx, key, (o) => this.sm.getSecretVersion({ name: `${name}/versions/latest` }, o));
      return { exists: true, owner, managedBy, version: latest.name?.split('/').pop() };
    } catch (err) {
      // A secret without versions (or whose latest is disabled) has no current version.
      if (err instanceof NotFoundError) return { exists: true, owner, managedBy };
      throw err;
    }
  }

  async write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }> {
    const name = this.name(key);
    if (opts.create) {
      await this.call(ctx, key, (o) => this.sm.createSecret({
        parent: this.parent,
        secretId: name.split('/').pop(),
        secret: { replication: { automatic: {} }, labels: { [GCP_MANAGED_BY]: 'secretsync' }, annotations: { [GCP_OWNER]: opts.owner } },
      }, o));
    }
    if (opts.adopt) {
      // Only our markers change; the secret's other labels and annotations stay.
      const [secret] = await this.call(ctx, key, (o) => this.sm.getSecret({ name }, o));
      await this.call(ctx, key, (o) => this.sm.updateSecret({
        secret: { name, labels: { ...secret.labels, [GCP_MANAGED_BY]: 'secretsync' }, annotations: { ...secret.annotations, [GCP_OWNER]: opts.owner } },
        updateMask: { paths: ['labels', 'annotations'] },
      }, o));
    }
    const data = Buffer.from(value);
    const [version] = await this.call(ctx, key, (o) => this.sm.addSecretVersion({ parent: name, payload: { data, dataCrc32c: crc32c(data) } }, o));
    return { version: version.name?.split('/').pop() };
  }

  async remove(key: string, ctx: CallContext): Promise<void> {
    try {
      await this.call(ctx, key, (o) => this.sm.deleteSecret({ name: this.name(key) }, o));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** Secrets are written in the store's own project (and location): a full name elsewhere is refused. */
  private name(key: string): string {
    if (SECRET_ID.test(key)) return `${this.parent}/secrets/${key}`;
    if (key.startsWith(`${this.parent}/secrets/`) && SECRET_ID.test(key.slice(this.parent.length + 9))) return key;
    throw new StoreConfigError(`"${key}": a PushSecret writes a secret id (letters, digits, - and _) in the store's project ${this.parent}`);
  }
}
