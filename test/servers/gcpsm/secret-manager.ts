// A test Google Secret Manager (v1), written from Google's published API
// reference and served with the service definition the official client
// ships. Semantics kept: versions numbered from 1 per secret, the `latest`
// alias (the most recently created version, whatever its state), ENABLED /
// DISABLED / DESTROYED with etags checked on state changes, labels, list
// `filter` on labels and name, page tokens, `expire_time` / `ttl` (the secret
// is deleted at that time), `rotation` (which needs a topic), CRC32C on add
// and access, and the service's gRPC status codes and messages. Every call
// needs a bearer token (see auth.ts); permissions follow the predefined roles.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { crc32c } from '../../../src/util/crc32c.js';
import { retryInfoDetails, secretManagerService } from './protos.js';

type Timestamp = { seconds: string; nanos: number };
type Request = Record<string, unknown>;

interface Version {
  number: number;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  data: Buffer;
  crc: number;
  clientChecksum: boolean;
  created: number;
  destroyed?: number;
  etag: string;
}

interface Secret {
  name: string;
  created: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  topics: Array<{ name: string }>;
  expireAt?: number;
  rotation?: { next?: number; periodSeconds?: number };
  etag: string;
  versions: Version[];
}

/** The permission each RPC checks, as the service names them. */
const PERMISSIONS: Record<string, string> = {
  ListSecrets: 'secretmanager.secrets.list',
  CreateSecret: 'secretmanager.secrets.create',
  GetSecret: 'secretmanager.secrets.get',
  UpdateSecret: 'secretmanager.secrets.update',
  DeleteSecret: 'secretmanager.secrets.delete',
  AddSecretVersion: 'secretmanager.versions.add',
  ListSecretVersions: 'secretmanager.versions.list',
  GetSecretVersion: 'secretmanager.versions.get',
  AccessSecretVersion: 'secretmanager.versions.access',
  DisableSecretVersion: 'secretmanager.versions.disable',
  EnableSecretVersion: 'secretmanager.versions.enable',
  DestroySecretVersion: 'secretmanager.versions.destroy',
};

/** The predefined roles, by the permissions they grant. */
export const ROLES: Record<string, string[]> = {
  'roles/secretmanager.secretAccessor': ['secretmanager.versions.access'],
  'roles/secretmanager.viewer': ['secretmanager.secrets.get', 'secretmanager.secrets.list', 'secretmanager.versions.get', 'secretmanager.versions.list', 'secretmanager.locations.get'],
  'roles/secretmanager.admin': Object.values(PERMISSIONS),
};

export class RpcError extends Error {
  constructor(readonly code: grpc.status, message: string, readonly metadata?: grpc.Metadata, readonly retryDelaySeconds?: number) {
    super(message);
  }
}

const SECRET_NAME = /^projects\/([^/]+)\/(?:locations\/([^/]+)\/)?secrets\/([A-Za-z0-9_-]{1,255})$/;
const VERSION_NAME = /^(projects\/[^/]+\/(?:locations\/[^/]+\/)?secrets\/[A-Za-z0-9_-]{1,255})\/versions\/([^/]+)$/;
const PAGE_MAX = 25_000;
const PAGE_DEFAULT = 25_000;

const ts = (ms: number): Timestamp => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
const fromTs = (t: unknown): number | undefined => {
  const v = t as { seconds?: string | number; nanos?: number } | undefined;
  return v?.seconds === undefined ? undefined : Number(v.seconds) * 1000 + Math.floor((v.nanos ?? 0) / 1e6);
};
const fromDuration = (d: unknown): number | undefined => {
  const v = d as { seconds?: string | number } | undefined;
  return v?.seconds === undefined ? undefined : Number(v.seconds);
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const etag = () => `"${randomBytes(6).toString('hex')}"`;

export interface Caller {
  principal: string;
  permissions: Set<string>;
}

export class TestSecretManager {
  readonly secrets = new Map<string, Secret>();
  readonly counts = new Map<string, number>();
  private throttled = { remaining: 0, retryDelaySeconds: 1 };
  private corrupt = new Set<string>();

  /** Where a new version is announced on the secret's notification topics (Pub/Sub). */
  notify?: (topic: string, attributes: Record<string, string>, data: Buffer) => void;

  /** `authenticate` turns call metadata into a caller, or throws UNAUTHENTICATED. */
  constructor(private readonly authenticate: (metadata: grpc.Metadata) => Promise<Caller>) {}

  throttle(calls: number, retryDelaySeconds = 1): void {
    this.throttled = { remaining: calls, retryDelaySeconds };
  }

  /** The next access of this secret returns a payload whose CRC32C does not match. */
  corruptNextAccess(secretName: string): void {
    this.corrupt.add(secretName);
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** One call, whichever the transport (gRPC, or REST in rest.ts): counted, authenticated, throttled when asked, permission checked. */
  async invoke(rpc: string, request: Request, metadata: grpc.Metadata): Promise<unknown> {
    const handler = (this as unknown as Record<string, (req: Request, caller: Caller) => unknown>)[rpc]!.bind(this);
    this.counts.set(rpc, (this.counts.get(rpc) ?? 0) + 1);
    const caller = await this.authenticate(metadata);
    if (this.throttled.remaining > 0) {
      this.throttled.remaining--;
      const details = new grpc.Metadata();
      const message = "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project'.";
      details.set('grpc-status-details-bin', retryInfoDetails(grpc.status.RESOURCE_EXHAUSTED, message, this.throttled.retryDelaySeconds));
      throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, message, details, this.throttled.retryDelaySeconds);
    }
    const permission = PERMISSIONS[rpc]!;
    if (!caller.permissions.has(permission)) {
      const resource = str(request.name) || str(request.parent) || str((request.secret as Request | undefined)?.name);
      throw new RpcError(grpc.status.PERMISSION_DENIED, `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`);
    }
    return handler(request, caller);
  }

  service(): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const rpc of Object.keys(PERMISSIONS)) {
      implementation[rpc] = (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        this.invoke(rpc, call.request, call.metadata)
          .then((out) => callback(null, out), (err: unknown) => {
            if (err instanceof RpcError) callback({ code: err.code, details: err.message, metadata: err.metadata });
            else callback({ code: grpc.status.INTERNAL, details: String(err) });
          });
      };
    }
    return { definition: secretManagerService(), implementation };
  }

  // ---- RPCs ----

  ListSecrets(req: Request): unknown {
    const parent = str(req.parent);
    if (!/^projects\/[^/]+(\/locations\/[^/]+)?$/.test(parent)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid parent [${parent}].`);
    const match = listFilter(str(req.filter));
    const all = [...this.live()].filter((s) => s.name.startsWith(`${parent}/secrets/`) && match(s)).sort((a, b) => a.name.localeCompare(b.name));
    return this.page(all, req, (s) => this.secretMessage(s), 'secrets');
  }

  CreateSecret(req: Request): unknown {
    const name = `${String(req.parent)}/secrets/${String(req.secret_id)}`;
    if (!SECRET_NAME.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid secret id [${String(req.secret_id)}].`);
    if (this.live().some((s) => s.name === name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
    const input = (req.secret ?? {}) as Request;
    const secret: Secret = { name, created: Date.now(), labels: {}, annotations: {}, topics: [], etag: etag(), versions: [] };
    this.applySecret(secret, input, ['labels', 'annotations', 'topics', 'expire_time', 'ttl', 'rotation']);
    this.secrets.set(name, secret);
    return this.secretMessage(secret);
  }

  GetSecret(req: Request): unknown {
    return this.secretMessage(this.secret(String(req.name)));
  }

  UpdateSecret(req: Request): unknown {
    const input = (req.secret ?? {}) as Request;
    const secret = this.secret(String(input.name));
    const paths = ((req.update_mask as { paths?: string[] } | undefined)?.paths ?? []).map((p) => p.replace(/([A-Z])/g, '_$1').toLowerCase());
    if (!paths.length) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'update_mask is required.');
    this.applySecret(secret, input, paths);
    secret.etag = etag();
    return this.secretMessage(secret);
  }

  DeleteSecret(req: Request): unknown {
    const secret = this.secret(String(req.name));
    if (req.etag && req.etag !== secret.etag) throw new RpcError(grpc.status.FAILED_PRECONDITION, `The etag provided in the request does not match the current etag of ${secret.name}.`);
    this.secrets.delete(secret.name);
    return {};
  }

  AddSecretVersion(req: Request): unknown {
    const secret = this.secret(String(req.parent));
    const payload = (req.payload ?? {}) as { data?: Buffer; data_crc32c?: string };
    const data = Buffer.from(payload.data ?? Buffer.alloc(0));
    if (data.length > 64 * 1024) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Secret payload data length must be less than 64 KiB.');
    const crc = crc32c(data);
    if (payload.data_crc32c !== undefined && Number(payload.data_crc32c) !== crc) {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Checksum mismatch: the data_crc32c in the request does not match the checksum of the payload.');
    }
    const version: Version = { number: secret.versions.length + 1, state: 'ENABLED', data, crc, clientChecksum: payload.data_crc32c !== undefined, created: Date.now(), etag: etag() };
    secret.versions.push(version);
    const message = this.versionMessage(secret, version);
    // Google's notification: attributes eventType and secretId, the SecretVersion as JSON in the data.
    for (const topic of secret.topics) {
      try {
        this.notify?.(topic.name, { eventType: 'SECRET_VERSION_ADD', secretId: secret.name, dataFormat: 'JSON_API_V1' }, Buffer.from(JSON.stringify({ name: (message as { name?: string }).name, state: version.state })));
      } catch {
        // A topic that does not exist: Secret Manager's publish fails, the version stays.
      }
    }
    return message;
  }

  ListSecretVersions(req: Request): unknown {
    const secret = this.secret(String(req.parent));
    const filter = str(req.filter);
    const state = /^state:(\w+)$/.exec(filter)?.[1];
    if (filter && !state) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid filter [${filter}].`);
    const versions = [...secret.versions].reverse().filter((v) => !state || v.state === state);
    return this.page(versions, req, (v) => this.versionMessage(secret, v), 'versions');
  }

  GetSecretVersion(req: Request): unknown {
    const { secret, version } = this.version(String(req.name));
    return this.versionMessage(secret, version);
  }

  AccessSecretVersion(req: Request): unknown {
    const { secret, version } = this.version(String(req.name));
    if (version.state !== 'ENABLED') throw new RpcError(grpc.status.FAILED_PRECONDITION, `${secret.name}/versions/${version.number} is in ${version.state} state.`);
    const crc = this.corrupt.delete(secret.name) ? (version.crc ^ 1) >>> 0 : version.crc;
    return { name: `${secret.name}/versions/${version.number}`, payload: { data: version.data, data_crc32c: String(crc) } };
  }

  DisableSecretVersion(req: Request): unknown {
    return this.setState(req, 'DISABLED');
  }

  EnableSecretVersion(req: Request): unknown {
    return this.setState(req, 'ENABLED');
  }

  DestroySecretVersion(req: Request): unknown {
    return this.setState(req, 'DESTROYED');
  }

  // ---- helpers ----

  /** Secrets not yet past their expire_time (the service deletes them then). */
  private live(): Secret[] {
    const now = Date.now();
    for (const [name, s] of this.secrets) if (s.expireAt !== undefined && s.expireAt <= now) this.secrets.delete(name);
    return [...this.secrets.values()];
  }

  private secret(name: string): Secret {
    if (!SECRET_NAME.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: [${name}].`);
    const secret = this.live().find((s) => s.name === name);
    if (!secret) throw new RpcError(grpc.status.NOT_FOUND, `Secret [${name}] not found or has no versions.`);
    return secret;
  }

  private version(name: string): { secret: Secret; version: Version } {
    const m = VERSION_NAME.exec(name);
    if (!m) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: [${name}].`);
    const secret = this.secret(m[1]!);
    const id = m[2]!;
    const version = id === 'latest' ? secret.versions.at(-1) : /^\d+$/.test(id) ? secret.versions[Number(id) - 1] : undefined;
    if (!/^(latest|\d+)$/.test(id)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid secret version [${id}].`);
    if (!version) throw new RpcError(grpc.status.NOT_FOUND, id === 'latest' ? `Secret [${secret.name}] not found or has no versions.` : `Secret Version [${name}] not found.`);
    return { secret, version };
  }

  private setState(req: Request, state: Version['state']): unknown {
    const { secret, version } = this.version(String(req.name));
    if (req.etag && req.etag !== version.etag) throw new RpcError(grpc.status.FAILED_PRECONDITION, `The etag provided in the request does not match the current etag of ${secret.name}/versions/${version.number}.`);
    if (version.state === 'DESTROYED') throw new RpcError(grpc.status.FAILED_PRECONDITION, `${secret.name}/versions/${version.number} is in DESTROYED state.`);
    version.state = state;
    version.etag = etag();
    if (state === 'DESTROYED') {
      version.data = Buffer.alloc(0);
      version.destroyed = Date.now();
    }
    return this.versionMessage(secret, version);
  }

  private applySecret(secret: Secret, input: Request, paths: string[]): void {
    if (paths.includes('labels')) secret.labels = { ...((input.labels as Record<string, string> | undefined) ?? {}) };
    if (paths.includes('annotations')) {
      const annotations = (input.annotations as Record<string, string> | undefined) ?? {};
      // Google's limit: keys and values together at most 16 KiB.
      if (Object.entries(annotations).reduce((n, [k, v]) => n + k.length + v.length, 0) > 16 * 1024) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The total size of annotations must be less than 16 KiB.');
      secret.annotations = { ...annotations };
    }
    if (paths.includes('topics')) secret.topics = (input.topics as Array<{ name: string }> | undefined) ?? [];
    if (paths.includes('expire_time') || paths.includes('ttl')) {
      const ttl = fromDuration(input.ttl);
      secret.expireAt = ttl !== undefined ? Date.now() + ttl * 1000 : fromTs(input.expire_time);
    }
    if (paths.includes('rotation') || paths.some((p) => p.startsWith('rotation.'))) {
      const r = input.rotation as Request | undefined;
      const next = fromTs(r?.next_rotation_time);
      const period = fromDuration(r?.rotation_period);
      secret.rotation = r ? { next, periodSeconds: period } : undefined;
      if (secret.rotation && !secret.topics.length) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'A secret with rotation must have at least one Pub/Sub topic.');
      if (period !== undefined && next === undefined) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'rotation_period requires next_rotation_time.');
    }
  }

  private secretMessage(s: Secret): unknown {
    return {
      name: s.name,
      replication: { automatic: {} },
      create_time: ts(s.created),
      labels: s.labels,
      annotations: s.annotations,
      topics: s.topics,
      ...(s.expireAt !== undefined ? { expire_time: ts(s.expireAt) } : {}),
      etag: s.etag,
      ...(s.rotation ? { rotation: { ...(s.rotation.next !== undefined ? { next_rotation_time: ts(s.rotation.next) } : {}), ...(s.rotation.periodSeconds ? { rotation_period: { seconds: String(s.rotation.periodSeconds) } } : {}) } } : {}),
    };
  }

  private versionMessage(s: Secret, v: Version): unknown {
    return {
      name: `${s.name}/versions/${v.number}`,
      create_time: ts(v.created),
      ...(v.destroyed ? { destroy_time: ts(v.destroyed) } : {}),
      state: v.state,
      etag: v.etag,
      client_specified_payload_checksum: v.clientChecksum,
    };
  }

  private page<T>(all: T[], req: Request, message: (t: T) => unknown, field: string): unknown {
    const size = Number(req.page_size ?? 0) || PAGE_DEFAULT;
    if (size < 0 || size > PAGE_MAX) throw new RpcError(grpc.status.INVALID_ARGUMENT, `page_size must be between 1 and ${PAGE_MAX}.`);
    const start = req.page_token ? Number(Buffer.from(str(req.page_token), 'base64url').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid page token.');
    const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : '';
    return { [field]: all.slice(start, start + size).map(message), next_page_token: next, total_size: all.length };
  }
}

/**
 * The list filter subset the provider sends: terms joined by spaces or AND,
 * each `labels.<key>=<value>` (exact), `labels.<key>:*` (present) or
 * `name:<text>` (substring of the name). Anything else is INVALID_ARGUMENT,
 * as an unknown filter is on the service.
 */
function listFilter(filter: string): (s: Secret) => boolean {
  const terms = filter.split(/\s+(?:AND\s+)?/).filter(Boolean);
  const tests = terms.map((term) => {
    let m = /^labels\.([\w-]+)[=:]"?([^"]*)"?$/.exec(term);
    if (m) {
      const [, key, value] = m as unknown as [string, string, string];
      return (s: Secret) => (value === '*' ? key in s.labels : s.labels[key] === value);
    }
    m = /^name:"?([^"]*)"?$/.exec(term);
    if (m) {
      const text = m[1]!;
      return (s: Secret) => s.name.includes(text);
    }
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid filter [${filter}].`);
  });
  return (s) => tests.every((t) => t(s));
}
