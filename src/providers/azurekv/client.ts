// Reads from Azure Key Vault through the official SDKs. Every HTTP request
// the SDK sends (the auth challenge and each list page included) is counted
// against the store's budget by the HTTP client below, so budgets, metrics
// and the conformance suite's server-side count agree. The SDKs' own retries
// are off: a 429 surfaces with its Retry-After for the controller's backoff.
//
// Key Vault has no batch read and no cheaper "has it changed" call than the
// read itself, except in listings: a find remembers each match's value by
// its `updated` date and reads again only what changed.
import type { ConnectGuard } from '../connect-guard.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import type { CertificateClient } from '@azure/keyvault-certificates';
import type { KeyClient, JsonWebKey as AzureJwk } from '@azure/keyvault-keys';
import { SecretClient, type KeyVaultSecret } from '@azure/keyvault-secrets';
import type { FindRef, RemoteRef } from '../../api/types.js';
import { compileLinear } from '../../util/linear-regexp.js';
import { NotFoundError } from '../errors.js';
import { MAX_FIND_RESULTS } from '../find.js';
import { readLimited } from '../response-limit.js';
import { mapFor, valueFor } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues, SourceInfo } from '../provider.js';
import { isKnownVaultHost } from './cloud.js';
import { azureError } from './errors.js';
import { AzureKvWriter } from './writer.js';
import { addIsoDuration, certificateChain, parseObjectRef, type ObjectRef } from './objects.js';

const POLICY_TTL_MS = 60 * 60_000;
const FIND_CONCURRENCY = 8;
/** Remembered find results (values by `updated` date); oldest dropped first. */
const FIND_CACHE_MAX = 2 * MAX_FIND_RESULTS;
/**
 * Key Vault dates have one-second resolution, so a version added in the same
 * second as the one read would carry the same `updated` date. A value is
 * trusted by its date only when it was read this long after that date (the
 * second, plus room for the vault's clock to lag ours).
 */
const SETTLE_MS = 5_000;
/** A name that no vault is expected to hold: reading it checks reachability and the token. */
const VALIDATE_PROBE = 'secretsync-store-validation-probe';
const PEM = 'application/x-pem-file';

const encoder = new TextEncoder();

export class AzureKvClient implements ProviderClient {
  /** The call a request belongs to, so the HTTP client can count it against that call. */
  private readonly current = new AsyncLocalStorage<CallContext>();
  private readonly options;
  private readonly secrets: SecretClient;
  readonly writer: AzureKvWriter;
  private keys?: Promise<KeyClient>;
  private certificates?: Promise<CertificateClient>;
  private readonly rotations = new Map<string, { rotatesAt?: Date; until: number }>();
  private readonly found = new Map<string, { updated: number; settled: boolean; fetched: RemoteValue }>();

  constructor(private readonly vaultUrl: string, private readonly credential: TokenCredential, guard?: ConnectGuard) {
    const http = createDefaultHttpClient();
    // A namespaced store's every connection to its vault goes through the guard's agents (Entra ID's are the SDK's own: its hosts are not the store's to choose).
    const agents = guard ? { https: guard.httpsAgent(), http: guard.httpAgent() } : undefined;
    // Counts each request against its call, and reads answers as a stream cut off at
    // MAX_RESPONSE_BYTES (the SDK's client would buffer a hostile answer of any size).
    const counting: HttpClient = {
      sendRequest: async (request) => {
        await this.current.getStore()?.request();
        if (agents) request.agent = request.url.startsWith('https:') ? agents.https : agents.http;
        if (request.streamResponseStatusCodes) return http.sendRequest(request);
        request.streamResponseStatusCodes = new Set([Number.POSITIVE_INFINITY]);
        const response = await http.sendRequest(request).finally(() => {
          // The SDK's deserialization reads this too: to it, the answer is text as usual.
          request.streamResponseStatusCodes = undefined;
        });
        const stream = response.readableStreamBody;
        response.readableStreamBody = undefined;
        if (stream) response.bodyAsText = (await readLimited(stream, 'Azure Key Vault')).toString('utf8');
        return response;
      },
    };
    // No redirect is followed: Key Vault's API has none, and one could lead anywhere.
    this.options = { httpClient: counting, retryOptions: { maxRetries: 0 }, redirectOptions: { maxRetries: 0 }, disableChallengeResourceVerification: !isKnownVaultHost(vaultUrl) };
    this.secrets = new SecretClient(vaultUrl, credential, this.options);
    this.writer = new AzureKvWriter(this.secrets, (ctx, key, op) => this.sdk(ctx, key, op));
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    return valueFor(ref, await this.fetch(ref, ctx));
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    return mapFor(ref, await this.fetch(ref, ctx));
  }

  /** Lists secret properties (every page), keeps the enabled and valid matches, and reads only the ones that changed. */
  async findSecrets(find: FindRef, ctx: CallContext): Promise<RemoteValues> {
    if (find.path) throw new NotFoundError(find.path, 'Key Vault secret names are flat: find by name.regexp or tags instead of path');
    const pattern = find.name ? compileLinear(find.name.regexp, 'find.name.regexp') : undefined;
    const now = Date.now();
    const matches: Array<{ name: string; updated: number }> = [];
    await this.sdk(ctx, '*', async (signal) => {
      for await (const page of this.secrets.listPropertiesOfSecrets({ abortSignal: signal }).byPage()) {
        for (const p of page) {
          if (p.enabled === false || (p.notBefore && p.notBefore.getTime() > now)) continue;
          if (find.tags && !Object.entries(find.tags).every(([k, v]) => p.tags?.[k] === v)) continue;
          if (pattern && !pattern.test(p.name)) continue;
          matches.push({ name: p.name, updated: p.updatedOn?.getTime() ?? 0 });
        }
        if (matches.length >= MAX_FIND_RESULTS) break;
      }
    });
    const values: Record<string, Uint8Array> = {};
    const sources: SourceInfo[] = [];
    const queue = matches.slice(0, MAX_FIND_RESULTS);
    const worker = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        const fetched = await this.findValue(m.name, m.updated, ctx).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined; // deleted or disabled between list and read
          throw err;
        });
        if (!fetched) continue;
        values[m.name] = fetched.value;
        sources.push(fetched.source);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FIND_CONCURRENCY, queue.length) }, worker));
    return { values, sources };
  }

  async validate(ctx: CallContext): Promise<void> {
    try {
      await this.sdk(ctx, VALIDATE_PROBE, (abortSignal) => this.secrets.getSecret(VALIDATE_PROBE, { abortSignal }));
    } catch (err) {
      // Not found, or no permission to read it: the vault answered and took the token.
      const status = (err as { statusCode?: number }).statusCode ?? (err instanceof NotFoundError ? 404 : undefined);
      if (status === 404 || status === 403) return;
      throw err;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The object's tags (secret/, cert/ or key/), as ESO's metadataPolicy Fetch gives them. */
  async getSecretMetadata(key: string, ctx: CallContext): Promise<{ metadata: Record<string, unknown>; source: SourceInfo }> {
    const object = parseObjectRef(key);
    let tags: Record<string, string> | undefined;
    if (object.kind === 'secret') tags = (await this.readSecret(object.name, undefined, key, ctx)).properties.tags;
    else if (object.kind === 'key') {
      const client = await this.keyClient();
      tags = (await this.sdk(ctx, key, (abortSignal) => client.getKey(object.name, { abortSignal }))).properties.tags;
    } else {
      const client = await this.certificateClient();
      tags = (await this.sdk(ctx, key, (abortSignal) => client.getCertificate(object.name, { abortSignal }))).properties.tags;
    }
    return { metadata: tags ?? {}, source: { key } };
  }

  private async fetch(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const object = parseObjectRef(ref.key);
    if (object.kind === 'key') return this.fetchKey(object, ref, ctx);
    const secret = await this.readSecret(object.name, ref.version, ref.key, ctx);
    if (object.kind === 'secret') return this.toRemoteValue(ref.key, secret, encoder.encode(secret.value ?? ''));
    return this.fetchCertificate(object, ref, secret, ctx);
  }

  private async readSecret(name: string, version: string | undefined, key: string, ctx: CallContext): Promise<KeyVaultSecret> {
    const secret = await this.sdk(ctx, key, (abortSignal) => this.secrets.getSecret(name, { version, abortSignal }), version);
    const notBefore = secret.properties.notBefore;
    if (notBefore && notBefore.getTime() > Date.now()) {
      throw new NotFoundError(key, `version "${secret.properties.version}" is not valid until ${notBefore.toISOString()}`);
    }
    return secret;
  }

  private toRemoteValue(key: string, secret: KeyVaultSecret, value: Uint8Array, rotatesAt?: Date): RemoteValue {
    return { value, source: { key, version: secret.properties.version, expiresAt: secret.properties.expiresOn, rotatesAt } };
  }

  /** The certificate's PEM chain (from its backing secret), and its renewal date from the certificate policy. */
  private async fetchCertificate(object: ObjectRef, ref: RemoteRef, secret: KeyVaultSecret, ctx: CallContext): Promise<RemoteValue> {
    if (secret.properties.contentType !== PEM) {
      throw new NotFoundError(ref.key, `the certificate is stored as ${secret.properties.contentType ?? 'an unknown type'}; only PEM certificates can be read as cert/ (read secret/${object.name} for the PFX)`);
    }
    const chain = certificateChain(secret.value ?? '');
    if (!chain) throw new NotFoundError(ref.key, 'the certificate secret holds no PEM certificate');
    const rotatesAt = await this.rotation(`cert/${object.name}`, ctx, async (signal) => {
      const cert = await (await this.certificateClient()).getCertificate(object.name, { abortSignal: signal });
      const exp = cert.properties.expiresOn;
      const nbf = cert.properties.notBefore;
      for (const a of cert.policy?.lifetimeActions ?? []) {
        if (a.action !== 'AutoRenew' || !exp) continue;
        if (a.daysBeforeExpiry) return new Date(exp.getTime() - a.daysBeforeExpiry * 86_400_000);
        if (a.lifetimePercentage && nbf) return new Date(nbf.getTime() + ((exp.getTime() - nbf.getTime()) * a.lifetimePercentage) / 100);
      }
      return undefined;
    });
    return this.toRemoteValue(ref.key, secret, encoder.encode(chain), rotatesAt);
  }

  /** The public key as JWK JSON, and its next rotation from the key's rotation policy. */
  private async fetchKey(object: ObjectRef, ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const client = await this.keyClient();
    const key = await this.sdk(ctx, ref.key, (abortSignal) => client.getKey(object.name, { version: ref.version, abortSignal }), ref.version);
    const props = key.properties;
    if (props.notBefore && props.notBefore.getTime() > Date.now()) throw new NotFoundError(ref.key, `version "${props.version}" is not valid until ${props.notBefore.toISOString()}`);
    const rotatesAt = await this.rotation(`key/${object.name}`, ctx, async (signal) => {
      const policy = await client.getKeyRotationPolicy(object.name, { abortSignal: signal });
      for (const a of policy.lifetimeActions ?? []) {
        if (a.action !== 'Rotate') continue;
        if (a.timeAfterCreate && props.createdOn) return addIsoDuration(props.createdOn, a.timeAfterCreate);
        if (a.timeBeforeExpiry && props.expiresOn) return addIsoDuration(props.expiresOn, a.timeBeforeExpiry, -1);
      }
      return undefined;
    });
    return { value: encoder.encode(JSON.stringify(publicJwk(key.key))), source: { key: ref.key, version: props.version, expiresAt: props.expiresOn, rotatesAt } };
  }

  private async findValue(name: string, updated: number, ctx: CallContext): Promise<RemoteValue> {
    const hit = this.found.get(name);
    if (hit?.settled && hit.updated === updated) return hit.fetched;
    const started = Date.now();
    const secret = await this.readSecret(name, undefined, name, ctx);
    const fetched = this.toRemoteValue(name, secret, encoder.encode(secret.value ?? ''));
    this.found.delete(name);
    this.found.set(name, { updated, settled: updated > 0 && started >= updated + SETTLE_MS, fetched });
    if (this.found.size > FIND_CACHE_MAX) this.found.delete(this.found.keys().next().value!);
    return fetched;
  }

  /** A rotation date, cached per object for an hour or until it passes; a failure only loses the hint. */
  private async rotation(id: string, ctx: CallContext, read: (signal: AbortSignal) => Promise<Date | undefined>): Promise<Date | undefined> {
    const now = Date.now();
    const hit = this.rotations.get(id);
    if (hit && now < hit.until) return hit.rotatesAt;
    const rotatesAt = await this.sdk(ctx, id, read).catch(() => undefined);
    this.rotations.set(id, { rotatesAt, until: Math.min(now + POLICY_TTL_MS, rotatesAt && rotatesAt.getTime() > now ? rotatesAt.getTime() : Infinity) });
    return rotatesAt;
  }

  /** One SDK operation, its requests counted against `ctx`, its failure typed. */
  private async sdk<T>(ctx: CallContext, key: string, op: (signal: AbortSignal) => Promise<T>, version?: string): Promise<T> {
    try {
      return await this.current.run(ctx, () => op(ctx.signal));
    } catch (err) {
      throw azureError(err, key, version);
    }
  }

  private keyClient(): Promise<KeyClient> {
    this.keys ??= import('@azure/keyvault-keys').then(({ KeyClient }) => new KeyClient(this.vaultUrl, this.credential, this.options));
    return this.keys;
  }

  private certificateClient(): Promise<CertificateClient> {
    this.certificates ??= import('@azure/keyvault-certificates').then(({ CertificateClient }) => new CertificateClient(this.vaultUrl, this.credential, this.options));
    return this.certificates;
  }
}

const JWK_FIELDS: Array<[keyof AzureJwk, string]> = [['kid', 'kid'], ['kty', 'kty'], ['keyOps', 'key_ops'], ['crv', 'crv'], ['n', 'n'], ['e', 'e'], ['x', 'x'], ['y', 'y']];

/** The public members of a key in standard JWK form (base64url), whatever the SDK returned. */
function publicJwk(key: AzureJwk | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [from, to] of JWK_FIELDS) {
    const v = key?.[from];
    if (v === undefined) continue;
    out[to] = v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v;
  }
  return out;
}
