// Reads from Google Secret Manager through @google-cloud/secret-manager.
// One gRPC call is one request against the store's budget; the SDK's own
// retries are off, so RESOURCE_EXHAUSTED surfaces with the server's retry
// delay for the controller's backoff.
//
// Cost: payloads are only downloaded when the version behind a name moved.
// A first read accesses the version; later reads ask for the version's
// metadata (GetSecretVersion, not a billed access) and reuse the payload
// when it is still the same ENABLED version. Readers with only
// roles/secretmanager.secretAccessor may not read metadata: on the first
// PERMISSION_DENIED the client accesses directly from then on. Expiry and
// rotation dates come from the secret (GetSecret, or the find's listing),
// cached until the next rotation or an hour; without permission they are
// left out.
import type { protos } from '@google-cloud/secret-manager';
import type { Secret, SecretManagerApi } from './api.js';
import type { FindRef, RemoteRef } from '../../api/types.js';
import { crc32c } from '../../util/crc32c.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../errors.js';
import { MAX_FIND_RESULTS } from '../find.js';
import { mapFor, valueFor } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import { googleError } from './errors.js';
import { GcpSmWriter } from './writer.js';

type Timestamp = protos.google.protobuf.ITimestamp | null | undefined;

const DATES_TTL_MS = 60 * 60_000;
const PAYLOAD_CACHE_MAX = 2 * MAX_FIND_RESULTS;
const PAGE_SIZE = 250;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const FULL_NAME = /^projects\/[^/]+\/(locations\/[^/]+\/)?secrets\/[A-Za-z0-9_-]{1,255}$/;
/** A name no project holds: reading it checks reachability and the credentials. */
const VALIDATE_PROBE = 'secretsync-store-validation-probe';

interface Payload {
  /** The resolved version (".../versions/3"). */
  version: string;
  value: Uint8Array;
}

interface Dates {
  expiresAt?: Date;
  rotatesAt?: Date;
  until: number;
}

const toDate = (t: Timestamp): Date | undefined => (t?.seconds === undefined || t.seconds === null ? undefined : new Date(Number(String(t.seconds)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)));

export class GcpSmClient implements ProviderClient {
  private readonly payloads = new Map<string, Payload>();
  private readonly dates = new Map<string, Dates>();
  private metadataDenied = false;

  readonly writer: GcpSmWriter;

  /** `parent`: projects/<id> or projects/<id>/locations/<location>. */
  constructor(private readonly sm: SecretManagerApi, private readonly parent: string) {
    this.writer = new GcpSmWriter(sm, parent, (ctx, key, rpc) => this.call(ctx, key, rpc));
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    return valueFor(ref, await this.read(ref, ctx));
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    return mapFor(ref, await this.read(ref, ctx));
  }

  /** Lists the parent's secrets (labels as a server-side filter), then reads each match's latest enabled version. */
  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    if (find.path) throw new NotFoundError(find.path, 'Secret Manager secret ids are flat: find by name.regexp or tags (labels) instead of path');
    const pattern = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const filter = Object.entries(find.tags ?? {}).map(([k, v]) => `labels.${k}=${JSON.stringify(v)}`).join(' AND ');
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const [secrets, , response] = await this.call(ctx, '*', (o) => this.sm.listSecrets({ parent: this.parent, filter: filter || undefined, pageSize: PAGE_SIZE, pageToken }, { ...o, autoPaginate: false }));
      for (const s of secrets) {
        const id = s.name?.split('/').pop() ?? '';
        if (find.tags && !Object.entries(find.tags).every(([k, v]) => s.labels?.[k] === v)) continue;
        if (pattern && !pattern.test(id)) continue;
        this.remember(s);
        names.push(id);
      }
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken && names.length < MAX_FIND_RESULTS);
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    for (const id of names.slice(0, MAX_FIND_RESULTS)) {
      try {
        const got = await this.read({ key: id }, ctx);
        values[id] = got.value;
        sources.push(got.source);
      } catch (err) {
        // Gone, or its latest version disabled or destroyed, since the listing: not an enabled match.
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return { values, sources };
  }

  async validate(ctx: CallContext): Promise<void> {
    try {
      await this.call(ctx, VALIDATE_PROBE, (o) => this.sm.accessSecretVersion({ name: `${this.parent}/secrets/${VALIDATE_PROBE}/versions/latest` }, o));
    } catch (err) {
      // Not found, or not allowed to read it: the service answered and took the credentials.
      if (err instanceof NotFoundError) return;
      if (err instanceof PermissionDeniedError && !/UNAUTHENTICATED|invalid authentication|refused the store's credentials/i.test(err.message)) return;
      throw err;
    }
  }

  close(): Promise<void> {
    return this.sm.close();
  }

  private secretName(key: string): string {
    if (FULL_NAME.test(key)) return key;
    if (!SECRET_ID.test(key)) throw new NotFoundError(key, 'a Secret Manager secret id is 1-255 letters, digits, - and _ (or a full projects/.../secrets/... name)');
    return `${this.parent}/secrets/${key}`;
  }

  private async read(ref: RemoteRef, ctx: CallContext): Promise<{ value: Uint8Array; source: SourceInfo }> {
    const secret = this.secretName(ref.key);
    const version = ref.version ?? 'latest';
    if (version !== 'latest' && !/^[1-9]\d*$/.test(version)) throw new NotFoundError(ref.key, `version "${version}" is not a version number or "latest"`);
    const wanted = `${secret}/versions/${version}`;
    const payload = await this.payload(wanted, ref, ctx);
    const dates = await this.secretDates(secret, ref.key, ctx);
    return { value: payload.value, source: { key: ref.key, version: payload.version.split('/').pop(), expiresAt: dates.expiresAt, rotatesAt: dates.rotatesAt } };
  }

  /** The payload behind `wanted`, downloaded only when its version moved (or metadata cannot be read). */
  private async payload(wanted: string, ref: RemoteRef, ctx: CallContext): Promise<Payload> {
    const cached = this.payloads.get(wanted);
    let target = wanted;
    if (cached && !this.metadataDenied) {
      try {
        const [meta] = await this.call(ctx, ref.key, (o) => this.sm.getSecretVersion({ name: wanted }, o), ref.version);
        const state = String(meta.state);
        if (state !== 'ENABLED' && state !== '1') throw new NotFoundError(ref.key, `the version is ${state.toLowerCase()}`);
        if (meta.name === cached.version) return cached;
        target = meta.name ?? wanted;
      } catch (err) {
        if (!(err instanceof PermissionDeniedError)) throw err;
        this.metadataDenied = true;
        ctx.log.debug({ key: ref.key }, 'no permission to read version metadata (secretAccessor only): accessing payloads directly from now on');
      }
    }
    const [out] = await this.call(ctx, ref.key, (o) => this.sm.accessSecretVersion({ name: target }, o), ref.version);
    const data = out.payload?.data ?? new Uint8Array();
    const value = typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.from(data);
    const expected = out.payload?.dataCrc32c;
    if (expected !== undefined && expected !== null && Number(String(expected)) !== crc32c(value)) {
      throw new Error(`Secret Manager payload of "${ref.key}" failed its CRC32C check: the value was corrupted in transit and is not used`);
    }
    const payload = { version: out.name ?? target, value };
    this.payloads.delete(wanted);
    this.payloads.set(wanted, payload);
    if (this.payloads.size > PAYLOAD_CACHE_MAX) this.payloads.delete(this.payloads.keys().next().value!);
    return payload;
  }

  /** The secret's {labels, annotations}, from GetSecret (as ESO's metadataPolicy Fetch gives them). */
  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }> {
    const [s] = await this.call(ctx, key, (o) => this.sm.getSecret({ name: this.secretName(key) }, o));
    this.remember(s);
    return { metadata: { annotations: s.annotations ?? {}, labels: s.labels ?? {} }, source: { key } };
  }

  /** A secret's expire_time and next rotation, from GetSecret (cached); a failure only loses the dates. */
  private async secretDates(secret: string, key: string, ctx: CallContext): Promise<Dates> {
    const now = Date.now();
    const hit = this.dates.get(secret);
    if (hit && now < hit.until) return hit;
    try {
      const [s] = await this.call(ctx, key, (o) => this.sm.getSecret({ name: secret }, o));
      return this.remember(s);
    } catch (err) {
      // Throttling holds the store like any other call; a reader that may not see the secret's metadata goes without dates for a while.
      if (err instanceof ThrottledError) throw err;
      const none = { until: now + (err instanceof PermissionDeniedError ? DATES_TTL_MS : 0) };
      this.dates.set(secret, none);
      return none;
    }
  }

  private remember(s: Secret): Dates {
    const now = Date.now();
    const rotatesAt = toDate(s.rotation?.nextRotationTime);
    const dates = { expiresAt: toDate(s.expireTime), rotatesAt, until: Math.min(now + DATES_TTL_MS, rotatesAt && rotatesAt.getTime() > now ? rotatesAt.getTime() : Infinity) };
    if (s.name) this.dates.set(s.name, dates);
    return dates;
  }

  /** One RPC: counted against the store's budget, bounded by the call's deadline, cancelled by its signal, failures typed. */
  private async call<T>(ctx: CallContext, key: string, rpc: (opts: { timeout: number; retry: null }) => Promise<T> & { cancel?: () => void }, version?: string): Promise<T> {
    await ctx.request();
    const pending = rpc({ timeout: Math.max(1, ctx.deadlineAt - Date.now()), retry: null });
    const cancel = () => pending.cancel?.();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    try {
      return await pending;
    } catch (err) {
      const typed = googleError(err, key);
      if (typed instanceof NotFoundError && version && version !== 'latest') throw new NotFoundError(key, /disabled|destroyed/.test(typed.message) ? typed.message.split(': ').pop() : `version "${version}" does not exist`);
      throw typed;
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }
  }
}
