// Secret Manager's REST API (v1) on the test server's HTTPS port, as Google
// publishes it: the HTTP rules of google/cloud/secretmanager/v1/service.proto
// (google.api.http), proto3 JSON (lowerCamelCase fields, Timestamps as RFC
// 3339, Durations as "<seconds>s", bytes as base64, int64 as strings), and
// errors as google.rpc.Status in JSON ({"error": {code, message, status,
// details}}), with the HTTP status of each code. Each call goes to the same
// TestSecretManager.invoke as the gRPC one: same auth, permissions, quota
// and semantics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { RpcError, type TestSecretManager } from './secret-manager.js';

type Json = Record<string, unknown>;

const PARENT = 'projects/[^/]+(?:/locations/[^/]+)?';
const SECRET = `${PARENT}/secrets/[^/:]+`;
const VERSION = `${SECRET}/versions/[^/:]+`;

/** [method, path pattern, rpc, how the request is built from the captured name, query and body]. */
const ROUTES: Array<[string, RegExp, string, (name: string, q: URLSearchParams, body: Json) => Json]> = [
  ['GET', new RegExp(`^/v1/(${PARENT})/secrets$`), 'ListSecrets', (parent, q) => ({ parent, page_size: Number(q.get('pageSize') ?? 0), page_token: q.get('pageToken') ?? '', filter: q.get('filter') ?? '' })],
  ['POST', new RegExp(`^/v1/(${PARENT})/secrets$`), 'CreateSecret', (parent, q, body) => ({ parent, secret_id: q.get('secretId') ?? '', secret: toProto(body) })],
  ['GET', new RegExp(`^/v1/(${SECRET})$`), 'GetSecret', (name) => ({ name })],
  ['PATCH', new RegExp(`^/v1/(${SECRET})$`), 'UpdateSecret', (name, q, body) => ({ secret: { ...toProto(body), name }, update_mask: { paths: (q.get('updateMask') ?? '').split(',').filter(Boolean) } })],
  ['DELETE', new RegExp(`^/v1/(${SECRET})$`), 'DeleteSecret', (name, q) => ({ name, etag: q.get('etag') ?? '' })],
  ['POST', new RegExp(`^/v1/(${SECRET}):addVersion$`), 'AddSecretVersion', (parent, _, body) => ({ parent, ...toProto(body) })],
  ['GET', new RegExp(`^/v1/(${SECRET})/versions$`), 'ListSecretVersions', (parent, q) => ({ parent, page_size: Number(q.get('pageSize') ?? 0), page_token: q.get('pageToken') ?? '', filter: q.get('filter') ?? '' })],
  ['GET', new RegExp(`^/v1/(${VERSION})$`), 'GetSecretVersion', (name) => ({ name })],
  ['GET', new RegExp(`^/v1/(${VERSION}):access$`), 'AccessSecretVersion', (name) => ({ name })],
  ['POST', new RegExp(`^/v1/(${VERSION}):disable$`), 'DisableSecretVersion', (name, _, body) => ({ name, ...toProto(body) })],
  ['POST', new RegExp(`^/v1/(${VERSION}):enable$`), 'EnableSecretVersion', (name, _, body) => ({ name, ...toProto(body) })],
  ['POST', new RegExp(`^/v1/(${VERSION}):destroy$`), 'DestroySecretVersion', (name, _, body) => ({ name, ...toProto(body) })],
];

/** google.rpc.Code -> its name and HTTP status (google/rpc/code.proto). */
const STATUS: Record<number, [string, number]> = {
  1: ['CANCELLED', 499], 2: ['UNKNOWN', 500], 3: ['INVALID_ARGUMENT', 400], 4: ['DEADLINE_EXCEEDED', 504], 5: ['NOT_FOUND', 404], 6: ['ALREADY_EXISTS', 409],
  7: ['PERMISSION_DENIED', 403], 8: ['RESOURCE_EXHAUSTED', 429], 9: ['FAILED_PRECONDITION', 400], 10: ['ABORTED', 409], 11: ['OUT_OF_RANGE', 400],
  12: ['UNIMPLEMENTED', 501], 13: ['INTERNAL', 500], 14: ['UNAVAILABLE', 503], 15: ['DATA_LOSS', 500], 16: ['UNAUTHENTICATED', 401],
};

/** Maps whose keys are the user's, not field names. */
const MAPS = new Set(['labels', 'annotations', 'version_aliases', 'versionAliases']);
const DURATIONS = new Set(['ttl', 'rotation_period', 'version_destroy_ttl']);

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** proto3 JSON -> the message as the handlers read it (snake_case, Timestamps and Durations as objects, bytes as Buffers). */
function toProto(value: unknown, key = ''): Json {
  if (Array.isArray(value)) return value.map((v) => toProto(v)) as unknown as Json;
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && key.endsWith('_time')) {
      const ms = Date.parse(value);
      const nanos = Number((/\.(\d{1,9})/.exec(value)?.[1] ?? '').padEnd(9, '0'));
      return { seconds: String(Math.floor(ms / 1000)), nanos };
    }
    if (typeof value === 'string' && DURATIONS.has(key)) return { seconds: value.replace(/(\.\d+)?s$/, '') };
    if (typeof value === 'string' && key === 'data') return Buffer.from(value, 'base64') as unknown as Json;
    return value as Json;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), MAPS.has(k) ? v : toProto(v, snake(k))]));
}

/** A message from the handlers -> proto3 JSON. */
function toJson(value: unknown, key = ''): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toJson(v));
  if (value === null || typeof value !== 'object') return value;
  const v = value as { seconds?: string; nanos?: number };
  if (key.endsWith('_time') && v.seconds !== undefined) {
    const iso = new Date(Number(v.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
    return v.nanos ? `${iso}.${String(v.nanos).padStart(9, '0')}Z` : `${iso}Z`;
  }
  if (DURATIONS.has(key) && v.seconds !== undefined) return `${v.seconds}s`;
  const out: Json = {};
  for (const [k, inner] of Object.entries(value)) {
    // proto3 JSON leaves default values out.
    if (inner === '' || inner === undefined) continue;
    out[camel(k)] = MAPS.has(k) ? inner : toJson(inner, k);
  }
  return out;
}

function error(res: ServerResponse, err: unknown): void {
  const rpc = err instanceof RpcError ? err : new RpcError(grpc.status.INTERNAL, String(err));
  const [status, http] = STATUS[rpc.code] ?? ['UNKNOWN', 500];
  const details = rpc.retryDelaySeconds !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${rpc.retryDelaySeconds}s` }] : [];
  res.writeHead(http, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ error: { code: http, message: rpc.message, status, ...(details.length ? { details } : {}) } }));
}

/** Answers a REST call of Secret Manager; false when the request is not one. */
export async function handleRest(sm: TestSecretManager, req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<boolean> {
  // Not a Secret Manager call: the token services share the port (IAM Credentials is under /v1/projects/-/serviceAccounts/).
  const route = ROUTES.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
  if (!route) return false;
  const [, pattern, rpc, build] = route;
  const metadata = new grpc.Metadata();
  if (req.headers.authorization) metadata.set('authorization', req.headers.authorization);
  try {
    let parsed: Json = {};
    try {
      parsed = body ? (JSON.parse(body) as Json) : {};
    } catch {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, 'Invalid JSON payload received.');
    }
    const out = await sm.invoke(rpc, build(pattern.exec(url.pathname)![1]!, url.searchParams, parsed), metadata);
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(toJson(out)));
  } catch (err) {
    error(res, err);
  }
  return true;
}
