// Reads from AWS Secrets Manager. Several plain reads in one reconcile go out
// as BatchGetSecretValue calls of up to 20; rotation dates come from
// ListSecrets filtered by the names of a batch, 10 a request, or from
// DescribeSecret for one secret, so the core refreshes just after a rotation.
// A rotation date holds while reads return the version it was learned with,
// until it passes, and is checked again once a day (a changed schedule); one
// recorded in status serves a restarted operator the same way.
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type Filter,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { FindRef, RemoteRef } from '../../api/types.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../errors.js';
import { MAX_FIND_RESULTS, underPath } from '../find.js';
import { extractProperty, valueToMap } from '../property.js';
import type { CallContext, ProviderClient, RecordedSource, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import { RemoteTooLargeError, tooLargeAnswer } from '../response-limit.js';
import { AwsWriter } from './writer.js';

const BATCH_SIZE = 20;
/** A rotation date still unpassed, at the same version, is looked up again after this (the schedule may have changed). */
const ROTATION_RECHECK_MS = 24 * 60 * 60_000;
/** ListSecrets takes at most 10 values per filter; the name filter matches prefixes. */
const LIST_NAMES = 10;
/** Pages of prefix matches to read before the names still missing fall back to DescribeSecret. */
const LIST_PAGES = 2;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface KnownRotation {
  rotatesAt?: Date;
  /** The version read when the date was learned: a new one means a rotation happened. */
  version?: string;
  until: number;
}

interface RawSecret {
  name: string;
  value: Uint8Array;
  versionId?: string;
}

/** Maps an SDK failure to a typed error; AWS messages name secrets, not values. */
export function awsError(err: unknown, key: string): Error {
  if (err instanceof RemoteTooLargeError) return tooLargeAnswer(key);
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  const name = e.name ?? '';
  const message = (e.message ?? '').split('\n')[0] ?? '';
  if (name === 'ResourceNotFoundException') return new NotFoundError(key);
  if (name === 'InvalidRequestException' && /marked\s+(for\s+)?delet|scheduled for deletion/i.test(message)) return new NotFoundError(key, 'it is scheduled for deletion');
  if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException' || e.$metadata?.httpStatusCode === 403) {
    return new PermissionDeniedError(`access denied to "${key}": ${message}`);
  }
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || e.$metadata?.httpStatusCode === 429 || e.$retryable?.throttling) {
    return new ThrottledError(`AWS Secrets Manager is throttling requests (${name || 'HTTP 429'})`);
  }
  return new Error(`AWS Secrets Manager call for "${key}" failed: ${name ? `${name}: ` : ''}${message}`);
}

export class AwsClient implements ProviderClient {
  readonly batchSize = BATCH_SIZE;
  private readonly described = new Map<string, KnownRotation>();
  /**
   * The store's policy grants GetSecretValue but not BatchGetSecretValue (the
   * least-privilege policy most guides give): read one secret a request from then on.
   */
  private batchDenied = false;
  /** Likewise for ListSecrets: rotation dates then come from DescribeSecret, one secret a request. */
  private listDenied = false;

  readonly writer = new AwsWriter((ctx, key, request) => this.send(ctx, key, request));

  constructor(
    private readonly sm: SecretsManagerClient,
    private readonly sts: STSClient,
  ) {}

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const raw = await this.fetch(ctx, ref);
    return this.toValue(ref, raw, await this.rotation(ctx, raw));
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    const raw = await this.fetch(ctx, ref);
    return { values: valueToMap(raw.value, ref.key, ref.property), sources: [{ key: ref.key, version: raw.versionId, rotatesAt: await this.rotation(ctx, raw) }] };
  }

  /** One SDK request: counted against the store's budget, cancelled by the call's signal. */
  /** The secret's tags as {Key: Value}, from DescribeSecret (as ESO's metadataPolicy Fetch gives them). */
  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }> {
    const out = await this.send(ctx, key, (sm, o) => sm.send(new DescribeSecretCommand({ SecretId: key }), o));
    return { metadata: Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])), source: { key } };
  }

  private async send<T>(ctx: CallContext, key: string, request: (sm: SecretsManagerClient, opts: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    await ctx.request();
    try {
      return await request(this.sm, { abortSignal: ctx.signal });
    } catch (err) {
      throw awsError(err, key);
    }
  }

  /** Plain reads (no version) in batches of 20; the rest one by one. */
  async getSecrets(refs: RemoteRef[], ctx: CallContext): Promise<Array<RemoteValue | Error>> {
    const results = Array.from<RemoteValue | Error | undefined>({ length: refs.length });
    const batchable = refs.map((r, i) => ({ r, i })).filter(({ r }) => r.version === undefined);
    const ids = [...new Set(batchable.map(({ r }) => r.key))];
    const fetched = new Map<string, RawSecret | Error>();
    for (let start = 0; start < ids.length; start += BATCH_SIZE) {
      const chunk = ids.slice(start, start + BATCH_SIZE);
      if (chunk.length === 1 || this.batchDenied) {
        for (const id of chunk) fetched.set(id, await this.fetch(ctx, { key: id }).catch((err: unknown) => err as Error));
        continue;
      }
      let out;
      try {
        out = await this.send(ctx, chunk.join(', '), (sm, o) => sm.send(new BatchGetSecretValueCommand({ SecretIdList: chunk }), o));
      } catch (err) {
        if (!(err instanceof PermissionDeniedError)) throw err;
        this.batchDenied = true;
        ctx.log.info('the store may not call BatchGetSecretValue; reading one secret a request from now on');
        start -= BATCH_SIZE; // this chunk again, one by one
        continue;
      }
      for (const v of out.SecretValues ?? []) {
        const raw = { name: v.Name!, value: bytesOf(v.SecretString, v.SecretBinary), versionId: v.VersionId };
        for (const id of chunk) if (id === v.Name || id === v.ARN) fetched.set(id, raw);
      }
      for (const e of out.Errors ?? []) fetched.set(e.SecretId!, awsError({ name: e.ErrorCode, message: e.Message }, e.SecretId!));
      for (const id of chunk) if (!fetched.has(id)) fetched.set(id, new NotFoundError(id));
    }
    await this.listRotations(ctx, [...fetched.values()].filter((raw): raw is RawSecret => !(raw instanceof Error)));
    for (const { r, i } of batchable) {
      const raw = fetched.get(r.key)!;
      results[i] = raw instanceof Error ? raw : await this.rotation(ctx, raw).then((rot) => this.toValue(r, raw, rot)).catch((err: unknown) => err as Error);
    }
    await Promise.all(refs.map(async (r, i) => {
      if (results[i] === undefined) results[i] = await this.getSecret(r, ctx).catch((err: unknown) => err as Error);
    }));
    return results as Array<RemoteValue | Error>;
  }

  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    const filters: Filter[] = [];
    if (find.path) filters.push({ Key: 'name', Values: [find.path] });
    for (const [k, v] of Object.entries(find.tags ?? {})) filters.push({ Key: 'tag-key', Values: [k] }, { Key: 'tag-value', Values: [v] });
    const pattern = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await this.send(ctx, find.path ?? '*', (sm, o) => sm.send(new ListSecretsCommand({ Filters: filters.length ? filters : undefined, NextToken: next, MaxResults: 100 }), o));
      for (const s of page.SecretList ?? []) {
        if (!s.Name || s.DeletedDate) continue;
        // tag-key/tag-value filters match independently; check the pairs here.
        if (find.tags && !Object.entries(find.tags).every(([k, v]) => s.Tags?.some((t) => t.Key === k && t.Value === v))) continue;
        if (pattern && !pattern.test(s.Name)) continue;
        if (!underPath(s.Name, find.path)) continue;
        names.push(s.Name);
      }
      next = page.NextToken;
    } while (next && names.length < MAX_FIND_RESULTS);
    const results = await this.getSecrets(names.slice(0, MAX_FIND_RESULTS).map((key) => ({ key })), ctx);
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    results.forEach((r, i) => {
      if (r instanceof Error) return; // deleted between list and read
      values[names[i]!] = r.value;
      sources.push(r.source);
    });
    return { values, sources };
  }

  async validate(ctx: CallContext): Promise<void> {
    await ctx.request();
    await this.sts.send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal }).catch((err: unknown) => {
      throw awsError(err, 'sts:GetCallerIdentity');
    });
  }

  /** Rotation dates recorded by earlier syncs seed what this process has not looked up itself. */
  recall(sources: RecordedSource[]): void {
    for (const s of sources) {
      // Looked up by the name a read returns; an ARN would never match.
      if (s.key.startsWith('arn:') || this.described.has(s.key)) continue;
      this.described.set(s.key, { rotatesAt: s.rotatesAt, version: s.version, until: rotationUntil(s.at, s.rotatesAt) });
    }
  }

  close(): Promise<void> {
    this.sm.destroy();
    this.sts.destroy();
    return Promise.resolve();
  }

  private async fetch(ctx: CallContext, ref: RemoteRef): Promise<RawSecret> {
    const version = ref.version ?? 'AWSCURRENT';
    const input = UUID.test(version) ? { SecretId: ref.key, VersionId: version } : { SecretId: ref.key, VersionStage: version };
    try {
      const out = await this.send(ctx, ref.key, (sm, o) => sm.send(new GetSecretValueCommand(input), o));
      return { name: out.Name ?? ref.key, value: bytesOf(out.SecretString, out.SecretBinary), versionId: out.VersionId };
    } catch (err) {
      if (err instanceof NotFoundError && ref.version) throw new NotFoundError(ref.key, `version "${ref.version}" does not exist`);
      throw err;
    }
  }

  private toValue(ref: RemoteRef, raw: RawSecret, rotatesAt: Date | undefined): RemoteValue {
    const value = ref.property ? extractProperty(raw.value, ref.key, ref.property) : raw.value;
    return { value, source: { key: ref.key, version: raw.versionId, rotatesAt } };
  }

  /** NextRotationDate when rotation is enabled, known, else from DescribeSecret. */
  private async rotation(ctx: CallContext, raw: RawSecret): Promise<Date | undefined> {
    const hit = this.knownRotation(raw);
    if (hit) return hit.rotatesAt;
    try {
      const out = await this.send(ctx, raw.name, (sm, o) => sm.send(new DescribeSecretCommand({ SecretId: raw.name }), o));
      return this.rememberRotation(raw, out);
    } catch {
      // Rotation dates are a hint; reading the value already succeeded.
      return undefined;
    }
  }

  /**
   * Rotation dates of a batch's secrets not cached yet, from ListSecrets
   * filtered by their names: 10 secrets a request instead of a DescribeSecret
   * each (after a restart, a batch of 20 costs 2 requests, not 20). Names the
   * listing does not settle are left to rotation().
   */
  private async listRotations(ctx: CallContext, read: RawSecret[]): Promise<void> {
    const missing = new Map(read.filter((raw) => !this.knownRotation(raw)).map((raw) => [raw.name, raw]));
    if (this.listDenied || missing.size < 2) return;
    const names = [...missing.keys()];
    for (let start = 0; start < names.length; start += LIST_NAMES) {
      const chunk = names.slice(start, start + LIST_NAMES);
      let next: string | undefined;
      try {
        for (let page = 0; page < LIST_PAGES; page++) {
          const out = await this.send(ctx, chunk.join(', '), (sm, o) => sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: chunk }], NextToken: next, MaxResults: 100 }), o));
          // Prefix matches of other secrets are skipped.
          for (const entry of out.SecretList ?? []) if (entry.Name && chunk.includes(entry.Name)) this.rememberRotation(missing.get(entry.Name)!, entry);
          next = out.NextToken;
          if (!next || chunk.every((n) => this.knownRotation(missing.get(n)!))) break;
        }
      } catch (err) {
        if (err instanceof PermissionDeniedError) {
          this.listDenied = true;
          ctx.log.info('the store may not call ListSecrets; rotation dates come from DescribeSecret, one secret a request');
          return;
        }
        // Rotation dates are a hint: what is still missing goes to DescribeSecret.
      }
    }
  }

  /** The rotation date of a secret just read, while it still holds for the version read. */
  private knownRotation(raw: RawSecret): KnownRotation | undefined {
    const hit = this.described.get(raw.name);
    if (!hit || Date.now() >= hit.until) return undefined;
    return hit.version === undefined || raw.versionId === undefined || hit.version === raw.versionId ? hit : undefined;
  }

  private rememberRotation(raw: RawSecret, described: { RotationEnabled?: boolean; NextRotationDate?: Date }): Date | undefined {
    const rotatesAt = described.RotationEnabled && described.NextRotationDate ? described.NextRotationDate : undefined;
    this.described.set(raw.name, { rotatesAt, version: raw.versionId, until: rotationUntil(Date.now(), rotatesAt) });
    return rotatesAt;
  }
}

/** A rotation date learned at `at` holds until it passes, and at most a day. */
function rotationUntil(at: number, rotatesAt: Date | undefined): number {
  return Math.min(at + ROTATION_RECHECK_MS, rotatesAt ? rotatesAt.getTime() : Infinity);
}

function bytesOf(text: string | undefined, binary: Uint8Array | undefined): Uint8Array {
  if (text !== undefined) return new TextEncoder().encode(text);
  return binary ?? new Uint8Array();
}
