// PushSecret writes to Azure Key Vault secrets (secret/<name> or a bare
// name; keys and certificates are not written). Tags are per version in Key
// Vault, so every write carries the owner tags again. Values are text: a
// secret's value is a string in the Key Vault API. Deletion is Key Vault's
// soft delete (recoverable for the vault's retention period); pushing again
// to a soft-deleted secret of ours recovers it first, as the name stays
// taken until then.
import type { SecretClient } from '@azure/keyvault-secrets';
import { utf8Text } from '../../util/text.js';
import { ConflictError, NotFoundError, StoreConfigError } from '../errors.js';
import type { CallContext, RemoteState, RemoteWriter, WriteOptions } from '../provider.js';
import { parseObjectRef } from './objects.js';

export const AZURE_MANAGED_BY = 'managed-by';
export const AZURE_OWNER = 'secretsync-owner';

type Sdk = <T>(ctx: CallContext, key: string, op: (signal: AbortSignal) => Promise<T>) => Promise<T>;

export class AzureKvWriter implements RemoteWriter {
  readonly ownership = 'remote' as const;
  readonly conditional = false;
  /** Key Vault's PUT has no create-only form: a secret set in between inspect and write is overwritten. */
  readonly exclusiveCreate = false;

  constructor(
    private readonly secrets: SecretClient,
    private readonly sdk: Sdk,
  ) {}

  async inspect(key: string, ctx: CallContext): Promise<RemoteState> {
    const name = secretName(key);
    try {
      const secret = await this.sdk(ctx, key, (abortSignal) => this.secrets.getSecret(name, { abortSignal }));
      return { exists: true, owner: secret.properties.tags?.[AZURE_OWNER], managedBy: secret.properties.tags?.[AZURE_MANAGED_BY], version: secret.properties.version };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    // Soft-deleted: the name is still taken, and its tags say whose it was.
    try {
      const deleted = await this.sdk(ctx, key, (abortSignal) => this.secrets.getDeletedSecret(name, { abortSignal }));
      return { exists: true, owner: deleted.properties.tags?.[AZURE_OWNER], managedBy: deleted.properties.tags?.[AZURE_MANAGED_BY] };
    } catch (err) {
      if (err instanceof NotFoundError) return { exists: false };
      throw err;
    }
  }

  async write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }> {
    const name = secretName(key);
    const text = textOf(value, key);
    const tags = { [AZURE_MANAGED_BY]: 'secretsync', [AZURE_OWNER]: opts.owner };
    const set = () => this.sdk(ctx, key, (abortSignal) => this.secrets.setSecret(name, text, { tags, abortSignal }));
    try {
      return { version: (await set()).properties.version };
    } catch (err) {
      if (!/deleted but recoverable|ObjectIsDeletedButRecoverable/i.test((err as Error).message)) throw err;
      if (opts.create) throw new ConflictError(`"${key}" is soft-deleted in Key Vault and not ours to recover`);
    }
    // Ours and soft-deleted (an earlier deletionPolicy Delete): recover it, then write the new version.
    await this.sdk(ctx, key, async (abortSignal) => (await this.secrets.beginRecoverDeletedSecret(name, { abortSignal, intervalInMs: 500 })).pollUntilDone());
    return { version: (await set()).properties.version };
  }

  async remove(key: string, ctx: CallContext): Promise<void> {
    const name = secretName(key);
    try {
      // The poller's first step is the DELETE itself; the secret is soft-deleted from then on (no need to wait).
      await this.sdk(ctx, key, (abortSignal) => this.secrets.beginDeleteSecret(name, { abortSignal }));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
  }
}

function secretName(key: string): string {
  const object = parseObjectRef(key);
  if (object.kind !== 'secret') throw new StoreConfigError(`"${key}": a PushSecret writes Key Vault secrets (secret/<name>), not ${object.kind === 'cert' ? 'certificates' : 'keys'}`);
  return object.name;
}

function textOf(value: Uint8Array, key: string): string {
  const text = utf8Text(value);
  if (text === undefined) {
    throw new StoreConfigError(`"${key}": a Key Vault secret holds text, and this value is not UTF-8; push it base64-encoded (a template with b64enc)`);
  }
  return text;
}
