// PushSecret writes to AWS Secrets Manager. The owner is recorded in the
// secret's tags (`managed-by`, `secretsync-owner`) when it is created; a
// value that is UTF-8 text is stored as SecretString, anything else as
// SecretBinary. Secrets Manager cannot condition a write on a version, so
// the controller's inspect-then-write is as close as it gets. Deletion uses
// the default 30-day recovery window: a mistaken delete can be undone.
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { utf8Text } from '../../util/text.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { CallContext, RemoteState, RemoteWriter, WriteOptions } from '../provider.js';

export const AWS_MANAGED_BY = 'managed-by';
export const AWS_OWNER = 'secretsync-owner';

type Send = <T>(ctx: CallContext, key: string, request: (sm: SecretsManagerClient, opts: { abortSignal: AbortSignal }) => Promise<T>) => Promise<T>;

export class AwsWriter implements RemoteWriter {
  readonly ownership = 'remote' as const;
  readonly conditional = false;
  readonly exclusiveCreate = true;
  /** Keys inspect() found scheduled for deletion: the write that follows restores them first. */
  private readonly deleted = new Set<string>();

  constructor(private readonly send: Send) {}

  async inspect(key: string, ctx: CallContext): Promise<RemoteState> {
    try {
      const out = await this.send(ctx, key, (sm, o) => sm.send(new DescribeSecretCommand({ SecretId: key }), o));
      const owner = out.Tags?.find((t) => t.Key === AWS_OWNER)?.Value;
      const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
      if (out.DeletedDate) this.deleted.add(key);
      else this.deleted.delete(key);
      return { exists: true, owner, managedBy: out.Tags?.find((t) => t.Key === AWS_MANAGED_BY)?.Value, version: current };
    } catch (err) {
      // A secret scheduled for deletion still exists (its name is taken) and keeps its tags; DescribeSecret reads it.
      if (err instanceof NotFoundError && !/scheduled for deletion/.test(err.message)) return { exists: false };
      throw err;
    }
  }

  async write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }> {
    const text = utf8Text(value);
    const payload = text !== undefined ? { SecretString: text } : { SecretBinary: value };
    if (opts.create) {
      try {
        const out = await this.send(ctx, key, (sm, o) => sm.send(new CreateSecretCommand({
          Name: key,
          ...payload,
          Tags: [{ Key: AWS_MANAGED_BY, Value: 'secretsync' }, { Key: AWS_OWNER, Value: opts.owner }],
        }), o));
        return { version: out.VersionId };
      } catch (err) {
        if ((err as Error).message.includes('ResourceExistsException')) throw new ConflictError(`"${key}" was created by someone else while it was being written`);
        throw err;
      }
    }
    if (this.deleted.delete(key)) {
      // Ours, deleted by an earlier deletionPolicy and pushed again: take it back before its recovery window ends.
      await this.send(ctx, key, (sm, o) => sm.send(new RestoreSecretCommand({ SecretId: key }), o));
    }
    if (opts.adopt) await this.send(ctx, key, (sm, o) => sm.send(new TagResourceCommand({ SecretId: key, Tags: [{ Key: AWS_MANAGED_BY, Value: 'secretsync' }, { Key: AWS_OWNER, Value: opts.owner }] }), o));
    const out = await this.send(ctx, key, (sm, o) => sm.send(new PutSecretValueCommand({ SecretId: key, ...payload }), o));
    return { version: out.VersionId };
  }

  async remove(key: string, ctx: CallContext): Promise<void> {
    try {
      await this.send(ctx, key, (sm, o) => sm.send(new DeleteSecretCommand({ SecretId: key }), o));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
  }
}
