// A test Azure Key Vault data plane, written from Microsoft's published Key
// Vault REST reference (api-version 7.5 and later): the secret, key and
// certificate endpoints secretsync and its tests use, with their real JSON
// shapes (object ids as URLs, `attributes` with Unix-second dates, tags,
// contentType, `nextLink` paging), the bearer challenge, access policies per
// application, error bodies, and a switch that answers 429 with Retry-After.
//
// Behaviours kept from the real service (and noted where the reference is
// silent):
// - GET of a secret outside its nbf/exp window still returns it (the dates are
//   informational; see Azure/AzureKeyVault#19); a disabled secret is refused
//   with 403 and inner error code `SecretDisabled`.
// - An unauthenticated request gets 401 with `WWW-Authenticate: Bearer
//   authorization="https://login.microsoftonline.com/<tenant>",
//   resource="https://vault.azure.net"`; the SDK takes the tenant from it and
//   retries with a token. A token for another tenant is refused (AKV10032).
// - Lists return at most 25 items a page; `nextLink` carries `$skiptoken`.
// - A key's rotation policy defaults to "notify 30 days before expiry".
// - Secrets are soft-deleted (recovery level Recoverable+Purgeable): DELETE
//   moves every version to /deletedsecrets, where the name stays taken (PUT
//   answers 409 Conflict) until it is recovered (POST .../recover) or purged
//   (DELETE /deletedsecrets/{name}).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate, type JsonWebKey } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { body, json, type TestEntra } from './entra.js';

export interface Permissions {
  secrets?: string[];
  keys?: string[];
  certificates?: string[];
}

interface Attributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

interface Version<T> {
  id: string;
  attributes: Attributes;
  tags?: Record<string, string>;
  data: T;
}

interface SecretData { value: string; contentType?: string; managed?: boolean; kid?: string }
interface KeyData { key: JsonWebKey; managed?: boolean }
interface CertData { cer: Buffer; x5t: string }

interface LifetimeAction { trigger: Record<string, unknown>; action: Record<string, unknown> }

const PAGE_MAX = 25;
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const PEM_TYPE = 'application/x-pem-file';

class VaultError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly inner?: string) {
    super(message);
  }
}

const now = () => Math.floor(Date.now() / 1000);
const newVersion = () => randomBytes(16).toString('hex');

export class TestKeyVault {
  readonly secrets = new Map<string, Array<Version<SecretData>>>();
  /** Soft-deleted secrets, by name: their versions and when they were deleted. */
  readonly deletedSecrets = new Map<string, { versions: Array<Version<SecretData>>; deletedDate: number }>();
  readonly keys = new Map<string, Array<Version<KeyData>>>();
  readonly certificates = new Map<string, Array<Version<CertData>>>();
  readonly keyPolicies = new Map<string, { lifetimeActions: LifetimeAction[]; attributes: Record<string, unknown> }>();
  readonly certPolicies = new Map<string, Record<string, unknown>>();
  readonly access = new Map<string, Permissions>();
  /** Requests received, by operation ("secrets.get", "challenge", ...). */
  readonly counts = new Map<string, number>();
  private throttled = { remaining: 0, retryAfterSeconds: 1 };

  constructor(private readonly entra: TestEntra, readonly tenantId: string) {}

  /** What an application or managed identity (by client id) may do. */
  allow(clientId: string, permissions: Permissions): void {
    this.access.set(clientId, permissions);
  }

  /** The next `requests` authenticated requests are answered 429 with Retry-After. */
  throttle(requests: number, retryAfterSeconds = 1): void {
    this.throttled = { remaining: requests, retryAfterSeconds };
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<void> {
    try {
      const out = await this.route(req, url, base);
      if (out === undefined) res.writeHead(204).end();
      else json(res, 200, out);
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      const headers: Record<string, string> = {};
      if (err.status === 401) headers['www-authenticate'] = `Bearer authorization="https://login.microsoftonline.com/${this.tenantId}", resource="https://vault.azure.net"`;
      if (err.status === 429) headers['retry-after'] = String(this.throttled.retryAfterSeconds);
      json(res, err.status, { error: { code: err.code, message: err.message, ...(err.inner ? { innererror: { code: err.inner } } : {}) } }, headers);
    }
  }

  private count(op: string): void {
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
  }

  private async route(req: IncomingMessage, url: URL, base: string): Promise<unknown> {
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const [collection, name = '', third] = parts;
    const method = req.method ?? 'GET';
    const deleted = collection === 'deletedsecrets';
    const kind = collection === 'secrets' || collection === 'keys' || collection === 'certificates' ? collection : deleted ? 'secrets' : undefined;
    const op = deleted ? `deletedsecrets.${third ?? method.toLowerCase()}` : kind ? `${kind}.${opName(method, name, third)}` : 'unknown';
    const auth = req.headers.authorization;
    if (!auth) {
      this.count('challenge');
      throw new VaultError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.');
    }
    this.count(op);
    const token = this.entra.verifyAccessToken(auth.replace(/^Bearer\s+/i, ''));
    if (typeof token === 'string') throw new VaultError(401, 'Unauthorized', `AKV10022: Invalid token: ${token}.`);
    if (token.aud.replace(/\/$/, '') !== 'https://vault.azure.net') throw new VaultError(401, 'Unauthorized', `AKV10022: Invalid audience. Expected https://vault.azure.net, found: ${token.aud}.`);
    if (token.tid !== this.tenantId) {
      throw new VaultError(401, 'Unauthorized', `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${this.tenantId}/, found https://sts.windows.net/${token.tid}/.`);
    }
    if (this.throttled.remaining > 0) {
      this.throttled.remaining--;
      throw new VaultError(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: A1');
    }
    if (!url.searchParams.get('api-version')) throw new VaultError(400, 'BadParameter', 'The api-version query parameter is required.');
    if (!kind) throw new VaultError(404, 'NotFound', `The requested path ${url.pathname} is not served by this key vault.`);
    if (name && !NAME.test(name)) throw new VaultError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
    const permission = deleted ? (third === 'recover' ? 'recover' : method === 'DELETE' ? 'purge' : name ? 'get' : 'list') : permissionFor(kind, method, name, third);
    if (!(this.access.get(token.appid)?.[kind] ?? []).includes(permission)) {
      throw new VaultError(403, 'Forbidden', `The user, group or application 'appid=${token.appid};oid=${token.appid};iss=https://sts.windows.net/${token.tid}/' does not have ${kind} ${permission} permission on key vault 'test;location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`, 'AccessDenied');
    }
    const input = method === 'PUT' || method === 'POST' || method === 'PATCH' ? (JSON.parse((await body(req)) || '{}') as Record<string, unknown>) : {};
    if (deleted) return this.deletedSecretOp(method, name, third, base);
    if (kind === 'secrets') return this.secretOp(method, name, third, input, url, base);
    if (kind === 'keys') return this.keyOp(method, name, third, input, url, base);
    return this.certificateOp(method, name, third, input, url, base);
  }

  // ---- secrets ----

  private secretOp(method: string, name: string, third: string | undefined, input: Record<string, unknown>, url: URL, base: string): unknown {
    if (!name) return this.list(url, base, 'secrets', [...this.secrets].map(([n, vs]) => ({ name: n, v: vs.at(-1)! })), (n, v) => secretItem(`${base}/secrets/${n}`, v));
    if (method === 'DELETE') {
      const versions = this.secrets.get(name);
      if (!versions) throw notFound('secret', name);
      if (versions.at(-1)!.data.managed) throw new VaultError(403, 'Forbidden', `Secret ${name} is managed by a certificate and cannot be deleted.`);
      this.secrets.delete(name);
      this.deletedSecrets.set(name, { versions, deletedDate: now() });
      return deletedSecretBundle(base, name, this.deletedSecrets.get(name)!);
    }
    if (method === 'PUT' && this.deletedSecrets.has(name)) {
      throw new VaultError(409, 'Conflict', `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`, 'ObjectIsDeletedButRecoverable');
    }
    if (method === 'PUT') {
      if (this.secrets.get(name)?.at(-1)?.data.managed) throw new VaultError(403, 'Forbidden', `Secret ${name} is managed by a certificate and cannot be set.`);
      if (typeof input.value !== 'string') throw new VaultError(400, 'BadParameter', 'Property value is required.');
      if (Buffer.byteLength(input.value) > 25 * 1024) throw new VaultError(400, 'BadParameter', 'Secret value exceeds the maximum size of 25 KB.');
      const v = this.addVersion(this.secrets, name, input, { value: input.value, contentType: input.contentType as string | undefined });
      return secretBundle(base, name, v);
    }
    if (third === 'versions') {
      const versions = this.secrets.get(name);
      if (!versions) throw notFound('secret', name);
      return this.list(url, base, `secrets/${name}/versions`, versions.map((v) => ({ name, v })), (n, v) => secretItem(`${base}/secrets/${n}/${v.id}`, v));
    }
    const v = this.version(this.secrets, 'secret', name, third);
    if (method === 'PATCH') {
      updateProperties(v, input);
      const { value: _value, ...bundle } = secretBundle(base, name, v);
      return bundle;
    }
    if (!v.attributes.enabled) throw new VaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    return secretBundle(base, name, v);
  }

  /** GET /deletedsecrets/{name}, DELETE (purge), POST .../recover. */
  private deletedSecretOp(method: string, name: string, third: string | undefined, base: string): unknown {
    const entry = this.deletedSecrets.get(name);
    if (!name) throw new VaultError(400, 'BadParameter', 'Listing deleted secrets is not served by this test Key Vault.');
    if (!entry) throw new VaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
    if (method === 'POST' && third === 'recover') {
      this.deletedSecrets.delete(name);
      this.secrets.set(name, entry.versions);
      return secretBundle(base, name, entry.versions.at(-1)!);
    }
    if (method === 'DELETE') {
      this.deletedSecrets.delete(name);
      return undefined;
    }
    return deletedSecretBundle(base, name, entry);
  }

  // ---- keys ----

  private keyOp(method: string, name: string, third: string | undefined, input: Record<string, unknown>, url: URL, base: string): unknown {
    if (!name) return this.list(url, base, 'keys', [...this.keys].map(([n, vs]) => ({ name: n, v: vs.at(-1)! })), (n, v) => ({ kid: `${base}/keys/${n}`, attributes: attributes(v.attributes), tags: v.tags }));
    if (third === 'rotationpolicy') {
      if (!this.keys.has(name)) throw notFound('key', name);
      if (method === 'PUT') {
        const existing = this.keyPolicies.get(name);
        this.keyPolicies.set(name, { lifetimeActions: (input.lifetimeActions as LifetimeAction[] | undefined) ?? [], attributes: { ...(input.attributes as object | undefined), created: existing?.attributes.created ?? now(), updated: now() } });
      }
      const policy = this.keyPolicies.get(name) ?? { lifetimeActions: [{ trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'Notify' } }], attributes: {} };
      return { id: `${base}/keys/${name}/rotationpolicy`, ...policy };
    }
    if (method === 'POST' && (third === 'create' || third === 'rotate')) {
      const previous = this.keys.get(name)?.at(-1);
      if (third === 'rotate' && !previous) throw notFound('key', name);
      const kty = third === 'rotate' ? String(previous!.data.key.kty) : str(input.kty);
      const pair = kty.startsWith('EC')
        ? generateKeyPairSync('ec', { namedCurve: str(input.crv) || previous?.data.key.crv || 'P-256' })
        : kty.startsWith('RSA') ? generateKeyPairSync('rsa', { modulusLength: Number(input.key_size ?? 2048) }) : undefined;
      if (!pair) throw new VaultError(400, 'BadParameter', `Key type ${kty} is not supported.`);
      const v = this.addVersion(this.keys, name, third === 'rotate' ? { tags: previous!.tags } : input, { key: { ...pair.publicKey.export({ format: 'jwk' }), key_ops: (input.key_ops as string[] | undefined) ?? ['sign', 'verify'] } });
      return keyBundle(base, name, v);
    }
    if (method === 'PUT') {
      const jwk = input.key as JsonWebKey | undefined;
      if (!jwk) throw new VaultError(400, 'BadParameter', 'Property key is required.');
      const publicJwk = createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' })).export({ format: 'jwk' });
      const v = this.addVersion(this.keys, name, input, { key: { ...publicJwk, key_ops: jwk.key_ops } });
      return keyBundle(base, name, v);
    }
    const v = this.version(this.keys, 'key', name, third);
    if (!v.attributes.enabled) throw new VaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled key.', 'KeyDisabled');
    return keyBundle(base, name, v);
  }

  // ---- certificates ----

  private certificateOp(method: string, name: string, third: string | undefined, input: Record<string, unknown>, url: URL, base: string): unknown {
    if (!name) return this.list(url, base, 'certificates', [...this.certificates].map(([n, vs]) => ({ name: n, v: vs.at(-1)! })), (n, v) => ({ id: `${base}/certificates/${n}`, x5t: v.data.x5t, attributes: attributes(v.attributes), tags: v.tags }));
    if (method === 'POST' && third === 'import') return this.importCertificate(name, input, base);
    if (third === 'policy') {
      const policy = this.certPolicies.get(name);
      if (!policy) throw notFound('certificate', name);
      if (method === 'PATCH') {
        for (const [k, v] of Object.entries(input)) if (v !== undefined && k !== 'id') policy[k] = v;
        (policy.attributes as Record<string, unknown>).updated = now();
      }
      return policy;
    }
    const v = this.version(this.certificates, 'certificate', name, third);
    const bundle = certificateBundle(base, name, v);
    // Only the current version comes with its policy.
    return third ? bundle : { ...bundle, policy: this.certPolicies.get(name) };
  }

  /**
   * PEM import (key and chain in one PEM text); PKCS#12 import is not served
   * here. @azure/keyvault-certificates 4.10 sends no `policy` on import (it
   * passes the caller's policy under a name its serializer does not read), so
   * a PEM value without a policy is taken as PEM, as the service does; the
   * policy's lifetime actions are set afterwards with PATCH .../policy.
   */
  private importCertificate(name: string, input: Record<string, unknown>, base: string): unknown {
    const pem = str(input.value);
    const policyIn = (input.policy ?? {}) as Record<string, unknown>;
    const contentType = (policyIn.secret_props as { contentType?: string } | undefined)?.contentType ?? (pem.startsWith('-----BEGIN') ? PEM_TYPE : undefined);
    if (contentType !== PEM_TYPE || !pem.includes('-----BEGIN')) {
      throw new VaultError(400, 'BadParameter', 'This test Key Vault imports PEM certificates only (policy.secret_props.contentType application/x-pem-file).');
    }
    const certBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    const keyBlock = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0];
    if (!certBlock || !keyBlock) throw new VaultError(400, 'BadParameter', 'The certificate PEM must hold the certificate and its private key.');
    const x509 = new X509Certificate(certBlock);
    const window = { nbf: Math.floor(new Date(x509.validFrom).getTime() / 1000), exp: Math.floor(new Date(x509.validTo).getTime() / 1000) };
    const attrs = { ...(input.attributes as object | undefined), ...window };
    const id = newVersion();
    const cert = this.addVersion(this.certificates, name, { attributes: attrs, tags: input.tags }, { cer: x509.raw, x5t: createHash('sha1').update(x509.raw).digest('base64url') }, id);
    this.addVersion(this.secrets, name, { attributes: attrs, tags: input.tags }, { value: pem, contentType: PEM_TYPE, managed: true, kid: `${base}/keys/${name}/${id}` }, id);
    this.addVersion(this.keys, name, { attributes: attrs }, { key: createPublicKey(createPrivateKey(keyBlock)).export({ format: 'jwk' }), managed: true }, id);
    const created = now();
    this.certPolicies.set(name, {
      id: `${base}/certificates/${name}/policy`,
      key_props: { exportable: true, kty: 'RSA', reuse_key: false },
      secret_props: { contentType: PEM_TYPE },
      x509_props: { subject: x509.subject.replaceAll('\n', ', '), validity_months: 12 },
      lifetime_actions: (policyIn.lifetime_actions) ?? [{ trigger: { lifetime_percentage: 80 }, action: { action_type: 'EmailContacts' } }],
      issuer: { name: 'Unknown' },
      attributes: { enabled: true, created, updated: created },
    });
    return { ...certificateBundle(base, name, cert), policy: this.certPolicies.get(name) };
  }

  // ---- shared ----

  private addVersion<T>(map: Map<string, Array<Version<T>>>, name: string, input: Record<string, unknown>, data: T, id = newVersion()): Version<T> {
    const t = now();
    const a = (input.attributes ?? {}) as Partial<Attributes>;
    const v: Version<T> = { id, attributes: { enabled: a.enabled ?? true, nbf: a.nbf, exp: a.exp, created: t, updated: t }, tags: input.tags as Record<string, string> | undefined, data };
    map.set(name, [...(map.get(name) ?? []), v]);
    return v;
  }

  private version<T>(map: Map<string, Array<Version<T>>>, what: string, name: string, version: string | undefined): Version<T> {
    const versions = map.get(name);
    const v = version ? versions?.find((x) => x.id === version) : versions?.at(-1);
    if (!v) throw notFound(what, version ? `${name}/${version}` : name);
    return v;
  }

  private list<T>(url: URL, base: string, path: string, all: Array<{ name: string; v: Version<T> }>, item: (name: string, v: Version<T>) => unknown): unknown {
    const max = Number(url.searchParams.get('maxresults') ?? PAGE_MAX);
    if (!Number.isInteger(max) || max < 1 || max > PAGE_MAX) throw new VaultError(400, 'BadParameter', `maxresults must be between 1 and ${PAGE_MAX}.`);
    const skip = Number(Buffer.from(url.searchParams.get('$skiptoken') ?? '', 'base64url').toString() || 0);
    const page = all.slice(skip, skip + max);
    const more = skip + max < all.length;
    // Key Vault writes `$skiptoken` unescaped.
    const next = `${base}/${path}?api-version=${encodeURIComponent(url.searchParams.get('api-version')!)}&$skiptoken=${Buffer.from(String(skip + max)).toString('base64url')}&maxresults=${max}`;
    return { value: page.map(({ name, v }) => item(name, v)), nextLink: more ? next : null };
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function opName(method: string, name: string, third: string | undefined): string {
  if (!name) return 'list';
  if (third === 'versions') return 'listVersions';
  if (third === 'rotationpolicy' || third === 'policy' || third === 'import' || third === 'create' || third === 'rotate') return `${third}.${method.toLowerCase()}`;
  return { GET: 'get', PUT: 'set', PATCH: 'update', POST: 'post' }[method] ?? method.toLowerCase();
}

/** The access-policy permission an operation needs (Key Vault's own permission names). */
function permissionFor(kind: string, method: string, name: string, third: string | undefined): string {
  if (!name || third === 'versions') return 'list';
  if (third === 'rotationpolicy') return method === 'PUT' ? 'setrotationpolicy' : 'getrotationpolicy';
  if (kind === 'certificates' && third === 'policy') return method === 'PATCH' ? 'update' : 'get';
  if (third === 'import' || (kind === 'keys' && method === 'PUT')) return 'import';
  if (third === 'create' || third === 'rotate') return third;
  if (method === 'PUT') return 'set';
  if (method === 'PATCH') return 'update';
  if (method === 'DELETE') return 'delete';
  return 'get';
}

function notFound(what: string, id: string): VaultError {
  const code = `${what[0]!.toUpperCase()}${what.slice(1)}NotFound`;
  return new VaultError(404, code, `A ${what} with (name/id) ${id} was not found in this key vault. If you recently deleted this ${what} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
}

function updateProperties(v: Version<SecretData>, input: Record<string, unknown>): void {
  const a = (input.attributes ?? {}) as Partial<Attributes>;
  for (const k of ['enabled', 'nbf', 'exp'] as const) if (k in a) (v.attributes as unknown as Record<string, unknown>)[k] = a[k];
  if (input.contentType !== undefined) v.data.contentType = input.contentType as string;
  if (input.tags !== undefined) v.tags = input.tags as Record<string, string>;
  v.attributes.updated = now();
}

function attributes(a: Attributes) {
  return { ...a, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 };
}

function deletedSecretBundle(base: string, name: string, entry: { versions: Array<Version<SecretData>>; deletedDate: number }) {
  const { value: _value, ...bundle } = secretBundle(base, name, entry.versions.at(-1)!);
  return { ...bundle, recoveryId: `${base}/deletedsecrets/${name}`, deletedDate: entry.deletedDate, scheduledPurgeDate: entry.deletedDate + 90 * 86400 };
}

function secretItem(id: string, v: Version<SecretData>) {
  return { id, attributes: attributes(v.attributes), tags: v.tags, contentType: v.data.contentType, ...(v.data.managed ? { managed: true } : {}) };
}

function secretBundle(base: string, name: string, v: Version<SecretData>) {
  return { value: v.data.value, ...secretItem(`${base}/secrets/${name}/${v.id}`, v), ...(v.data.kid ? { kid: v.data.kid } : {}) };
}

function keyBundle(base: string, name: string, v: Version<KeyData>) {
  return { key: { ...v.data.key, kid: `${base}/keys/${name}/${v.id}` }, attributes: attributes(v.attributes), tags: v.tags, ...(v.data.managed ? { managed: true } : {}) };
}

function certificateBundle(base: string, name: string, v: Version<CertData>) {
  return {
    id: `${base}/certificates/${name}/${v.id}`,
    kid: `${base}/keys/${name}/${v.id}`,
    sid: `${base}/secrets/${name}/${v.id}`,
    x5t: v.data.x5t,
    cer: v.data.cer.toString('base64'),
    attributes: attributes(v.attributes),
    tags: v.tags,
  };
}
