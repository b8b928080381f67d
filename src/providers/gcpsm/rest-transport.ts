// Secret Manager's REST API (v1, https://secretmanager.googleapis.com),
// the leaner of the two transports (--gcpsm-transport rest): undici and
// google-auth-library, without the SDK's gRPC stack (google-gax, grpc-js,
// protobufjs and the service's descriptors, which cost about 15 MiB of RSS
// and 11 MiB of heap once loaded). It answers in the official client's
// shapes (api.ts), with the service's errors as the client raises them
// (a gRPC code, the message, RetryInfo), so the reader, the writer and
// errors.ts serve both transports unchanged. What it gives up: HTTP/2 (one
// keep-alive HTTP/1.1 pool per store instead of multiplexed calls on one
// connection) and gRPC's channel (its keepalive pings and re-resolution on
// GOAWAY: the host guard checks each new connection instead).
import type { AuthClient, GoogleAuth } from 'google-auth-library';
import { Agent, request } from 'undici';
import type { ConnectGuard } from '../connect-guard.js';
import { readLimited } from '../response-limit.js';
import type { AccessResponse, ListSecretsResponse, Rpc, RpcOptions, Secret, SecretManagerApi, SecretVersion } from './api.js';

/** google.rpc.Code by name, as the REST API names it in error.status. */
const CODES: Record<string, number> = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};
/** When the body names no status: the code for the HTTP status (google.rpc's mapping). */
const BY_HTTP_STATUS: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4 };

type Json = Record<string, unknown>;

interface RestError {
  error?: { code?: number; message?: string; status?: string; details?: Array<{ '@type'?: string; retryDelay?: string }> };
}

/** "2026-12-07T18:00:00.123456789Z" -> { seconds, nanos }, as the official client gives Timestamps. */
export function timestampOf(text: string): { seconds: string; nanos: number } | undefined {
  const m = /^(.+?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** "3.5s" -> { seconds, nanos } (google.protobuf.Duration in JSON). */
function durationOf(text: string): { seconds: string; nanos: number } | undefined {
  const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  return m ? { seconds: m[1]!, nanos: Number((m[2] ?? '').padEnd(9, '0')) } : undefined;
}

/** A REST message in the client's shapes: Timestamps and Durations as { seconds, nanos } (the rest of JSON is the same, camelCase). */
function fromRest<T>(value: unknown, key = ''): T {
  if (typeof value === 'string') {
    if (key.endsWith('Time')) return (timestampOf(value) ?? value) as T;
    if (key === 'ttl' || key === 'rotationPeriod' || key === 'versionDestroyTtl') return (durationOf(value) ?? value) as T;
    return value as T;
  }
  if (Array.isArray(value)) return value.map((v) => fromRest(v)) as T;
  // Labels and annotations are maps of strings: nothing in them is a Timestamp.
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'labels' || k === 'annotations' ? v : fromRest(v, k)])) as T;
  return value as T;
}

/** The RetryInfo delay of a REST error ("1.5s"), as the client's statusDetails carry it. */
function statusDetails(details: NonNullable<RestError['error']>['details']): Array<{ retryDelay: { seconds: string; nanos: number } }> {
  const out = [];
  for (const d of details ?? []) {
    const delay = d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo' && d.retryDelay ? durationOf(d.retryDelay) : undefined;
    if (delay) out.push({ retryDelay: delay });
  }
  return out;
}

export interface RestTransportOptions {
  /** host and port (secretmanager.googleapis.com:443, a regional endpoint, or the store's endpoint). */
  apiEndpoint: string;
  port: number;
  auth: AuthClient | GoogleAuth;
  guard?: ConnectGuard;
}

export class SecretManagerRest implements SecretManagerApi {
  private readonly dispatcher: Agent;
  private readonly base: string;

  constructor(private readonly opts: RestTransportOptions) {
    this.base = `https://${opts.apiEndpoint}${opts.port === 443 ? '' : `:${opts.port}`}`;
    // undici's request() follows no redirect; TLS is always verified (the system's and NODE_EXTRA_CA_CERTS' roots).
    this.dispatcher = new Agent({ connect: opts.guard ? opts.guard.undiciConnect() : {}, keepAliveTimeout: 30_000 });
  }

  accessSecretVersion(req: { name: string }, o: RpcOptions): Rpc<[AccessResponse]> {
    return this.call('GET', `/v1/${req.name}:access`, {}, undefined, o, (json) => [fromRest<AccessResponse>(json)]);
  }

  getSecretVersion(req: { name: string }, o: RpcOptions): Rpc<[SecretVersion]> {
    return this.call('GET', `/v1/${req.name}`, {}, undefined, o, (json) => [fromRest<SecretVersion>(json)]);
  }

  getSecret(req: { name: string }, o: RpcOptions): Rpc<[Secret]> {
    return this.call('GET', `/v1/${req.name}`, {}, undefined, o, (json) => [fromRest<Secret>(json)]);
  }

  listSecrets(req: { parent: string; filter?: string; pageSize: number; pageToken?: string }, o: RpcOptions): Rpc<[Secret[], null, ListSecretsResponse]> {
    const query = { pageSize: String(req.pageSize), ...(req.filter ? { filter: req.filter } : {}), ...(req.pageToken ? { pageToken: req.pageToken } : {}) };
    return this.call('GET', `/v1/${req.parent}/secrets`, query, undefined, o, (json) => {
      const response = fromRest<ListSecretsResponse>(json);
      return [response.secrets ?? [], null, response];
    });
  }

  createSecret(req: { parent: string; secretId?: string; secret: Secret }, o: RpcOptions): Rpc<[Secret]> {
    return this.call('POST', `/v1/${req.parent}/secrets`, { secretId: req.secretId ?? '' }, req.secret, o, (json) => [fromRest<Secret>(json)]);
  }

  updateSecret(req: { secret: Secret; updateMask: { paths: string[] } }, o: RpcOptions): Rpc<[Secret]> {
    return this.call('PATCH', `/v1/${req.secret.name ?? ''}`, { updateMask: req.updateMask.paths.join(',') }, req.secret, o, (json) => [fromRest<Secret>(json)]);
  }

  addSecretVersion(req: { parent: string; payload: { data: Uint8Array; dataCrc32c: number } }, o: RpcOptions): Rpc<[SecretVersion]> {
    const payload = { data: Buffer.from(req.payload.data).toString('base64'), dataCrc32c: String(req.payload.dataCrc32c) };
    return this.call('POST', `/v1/${req.parent}:addVersion`, {}, { payload }, o, (json) => [fromRest<SecretVersion>(json)]);
  }

  deleteSecret(req: { name: string }, o: RpcOptions): Rpc<[Json]> {
    return this.call('DELETE', `/v1/${req.name}`, {}, undefined, o, (json) => [json]);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** One request: authorized, bounded by the deadline, cancellable, the answer size-limited, a failure in the client's error shape. */
  private call<T>(method: string, path: string, query: Record<string, string>, body: unknown, o: RpcOptions, convert: (json: Json) => T): Rpc<T> {
    const abort = new AbortController();
    const run = async (): Promise<T> => {
      const url = new URL(`${this.base}${path}`);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const auth = await this.opts.auth.getRequestHeaders(url.toString());
      const headers: Record<string, string> = { accept: 'application/json', 'x-goog-api-client': 'secretsync-rest' };
      auth.forEach((value, name) => (headers[name] = value));
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await request(url, {
        method: method as 'GET',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.dispatcher,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(Math.max(1, o.timeout))]),
      });
      const text = (await readLimited(response.body, path.split(':')[0]!.split('/').pop() ?? path)).toString('utf8');
      let json: Json = {};
      try {
        json = text ? (JSON.parse(text) as Json) : {};
      } catch {
        if (response.statusCode < 300) throw Object.assign(new Error(`Secret Manager answered HTTP ${response.statusCode} with a body that is not JSON`), { code: CODES.INTERNAL });
      }
      if (response.statusCode >= 300) {
        const error = (json as RestError).error;
        const message = error?.message ?? `HTTP ${response.statusCode}`;
        throw Object.assign(new Error(message), {
          code: (error?.status && CODES[error.status]) ?? BY_HTTP_STATUS[response.statusCode] ?? CODES.UNKNOWN,
          details: message,
          statusDetails: statusDetails(error?.details),
        });
      }
      return convert(json);
    };
    return Object.assign(run(), { cancel: () => abort.abort() });
  }
}
