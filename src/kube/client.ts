// A small REST client for the API server. @kubernetes/client-node supplies
// the kubeconfig, credentials and TLS dispatcher; this adds what its typed
// clients make awkward: server-side apply, status subresources, metadata-only
// lists and watches, and errors that carry the API's reason.
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import type { KubeObject, ResourceType } from './types.js';

export const FIELD_MANAGER = 'secretsync';
/** Accept headers for metadata-only watches and lists (no Secret data crosses the wire). */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/**
 * The API server's field errors quote the value they refused ('metadata.labels:
 * Invalid value: "..."'); in a Secret that can be a secret value a template
 * put in a label or annotation. Those quotes are cut from every message.
 */
const ECHOED_VALUE = /\b(Invalid value|Unsupported value|Duplicate value|Not found): (?:"(?:[^"\\]|\\.)*"|[^:,\]]*)/g;

export function hideEchoedValues(message: string): string {
  return message.replace(ECHOED_VALUE, '$1: (value hidden)');
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(hideEchoedValues(message));
  }
}

export const isNotFound = (err: unknown) => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown) => err instanceof KubeApiError && err.status === 409;
export const isGone = (err: unknown) => err instanceof KubeApiError && err.status === 410;

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  metadataOnly?: boolean;
  limit?: number;
  continue?: string;
}

export interface ObjectList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

/** How long auth headers are reused before client-node is asked again. */
const AUTH_REUSE_MS = 10_000;

/** No single request (other than a watch) may hang a reconcile for longer than this. */
const REQUEST_TIMEOUT_MS = Number(process.env.SECRETSYNC_KUBE_TIMEOUT_MS ?? 30_000);

export class KubeClient {
  /**
   * One connection pool for every request. client-node builds a new undici
   * Agent per request (a TLS handshake each, and memory that grows with the
   * request rate); only its auth headers are taken per request, since tokens
   * can rotate, while the TLS setup is taken once.
   */
  private dispatcher?: Dispatcher;
  private auth?: { headers: Record<string, string>; until: number };

  constructor(
    readonly config: KubeConfig,
    /** Told of every answered request (metrics); `resource` is the plural, with its subresource. */
    private readonly onAnswer?: (verb: string, resource: string, status: number) => void,
  ) {}

  path(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    // encodeURIComponent leaves "." and "..", which URL resolution would turn into another path.
    if (name === '.' || name === '..') throw new KubeApiError(400, 'BadRequest', `"${name}" is not a valid object name`);
    const obj = name ? `/${encodeURIComponent(name)}` : '';
    return `${base}${ns}/${type.plural}${obj}${subresource ? `/${subresource}` : ''}`;
  }

  /**
   * Auth headers and the connection pool. client-node computes both per
   * request (a RequestContext, its auth plugins, an undici Agent); they are
   * taken once and the headers renewed every AUTH_REUSE_MS, since tokens
   * rotate (a projected ServiceAccount token every hour at the most).
   */
  private async prepare(method: string, url: URL): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher }> {
    const now = Date.now();
    if (!this.auth || !this.dispatcher || now >= this.auth.until) {
      const ctx = new RequestContext(url.toString(), method as HttpMethod);
      await this.config.applySecurityAuthentication(ctx);
      this.auth = { headers: { ...(ctx.getHeaders() as unknown as Record<string, string>) }, until: now + AUTH_REUSE_MS };
      this.dispatcher ??= ctx.getDispatcher();
    }
    return { headers: { ...this.auth.headers }, dispatcher: this.dispatcher! };
  }

  private url(path: string, query: RequestOptions['query']): URL {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends one request as a WHATWG fetch; returns the raw response (the caller owns the body). For streams (watches). */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, opts.query);
    const { headers, dispatcher } = await this.prepare(method, url);
    headers['Accept'] = opts.accept ?? 'application/json';
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    return fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), dispatcher, signal: opts.signal });
  }

  /**
   * One request with a JSON answer, through undici's request() rather than
   * fetch(): the same connection pool without the WHATWG Request, Response
   * and stream objects, which cost more CPU and garbage than the API call.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const url = this.url(path, opts.query);
      const { headers, dispatcher } = await this.prepare(method, url);
      headers['accept'] = opts.accept ?? 'application/json';
      if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (err) {
      if (timeout.aborted) {
        this.resetConnections();
        throw new Error(`${method} ${path}: no answer from the API server within ${REQUEST_TIMEOUT_MS / 1000}s`, { cause: err });
      }
      throw err;
    }
    this.onAnswer?.(verbOf(method, path), resourceOf(path), status);
    if (status < 200 || status >= 300) throw apiError(status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Drops the connection pool; the next request opens fresh connections.
   * Requests share HTTP/2 connections, so one that went silent (a dropped
   * NAT entry, a half-dead peer) would otherwise keep swallowing requests.
   */
  resetConnections(): void {
    const dispatcher = this.dispatcher;
    this.dispatcher = undefined;
    void dispatcher?.destroy().catch(() => undefined);
  }

  /**
   * Lets go of the connection pool (the operator is stopping) without closing
   * it: undici 8.12's HTTP/2 close (which ends in a destroy) can raise its
   * ClientDestroyedError where nothing listens, an uncaught exception at
   * shutdown (2 of 4 full test runs). Idle HTTP/2 sessions are unref'd, so
   * they hold no process open; the exit or the server's idle timeout ends them.
   */
  close(): Promise<void> {
    this.dispatcher = undefined;
    return Promise.resolve();
  }

  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>(HttpMethod.GET, this.path(type, namespace, name));
  }

  async getOrUndefined<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  list<T>(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>(HttpMethod.GET, this.path(type, opts.namespace), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue },
      accept: opts.metadataOnly ? METADATA_ONLY_LIST : undefined,
    });
  }

  /** Opens a watch stream; the response body is newline-delimited JSON events. */
  watch(type: ResourceType, opts: ListOptions & { resourceVersion: string; timeoutSeconds: number }, signal: AbortSignal): Promise<Response> {
    return this.send(HttpMethod.GET, this.path(type, opts.namespace), {
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: opts.resourceVersion,
        timeoutSeconds: opts.timeoutSeconds,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
      accept: opts.metadataOnly ? METADATA_ONLY : undefined,
      signal,
    });
  }

  /** Creates an object; with `fieldManager` its fields are recorded as that manager's (operation Update). */
  create<T extends KubeObject>(type: ResourceType, obj: T, fieldManager?: string): Promise<T> {
    return this.request<T>(HttpMethod.POST, this.path(type, obj.metadata.namespace), { body: obj, query: { fieldManager } });
  }

  /** A JSON patch (RFC 6902); `test` operations make it conditional. */
  jsonPatch<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, ops: unknown[]): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, this.path(type, namespace, name), {
      query: { fieldManager: FIELD_MANAGER },
      body: ops,
      contentType: 'application/json-patch+json',
    });
  }

  /** Server-side apply with our field manager (forced: the fields it sends are ours). */
  apply<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, this.path(type, obj.metadata.namespace, obj.metadata.name), {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  mergePatch<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, patch: unknown, subresource?: string): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, this.path(type, namespace, name, subresource), {
      query: { fieldManager: FIELD_MANAGER },
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /**
   * Replaces an object's status with a JSON merge patch (top-level fields that
   * are gone are sent as null). Cheaper for the API server than an apply.
   */
  patchStatus<T extends KubeObject>(type: ResourceType, obj: KubeObject & { status?: object }, status: object): Promise<T> {
    const patch: Record<string, unknown> = { ...status };
    for (const key of Object.keys(obj.status ?? {})) if (!(key in patch)) patch[key] = null;
    return this.mergePatch<T>(type, obj.metadata.namespace, obj.metadata.name, { status: patch }, 'status');
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, preconditions?: { uid?: string }): Promise<void> {
    try {
      await this.request(HttpMethod.DELETE, this.path(type, namespace, name), {
        body: preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions } : undefined,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** True when the API server itself accepts `token` (a TokenReview with no audiences: its own). */
  async acceptsToken(token: string): Promise<boolean> {
    const review = await this.request<{ status?: { authenticated?: boolean } }>(HttpMethod.POST, '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    return review.status?.authenticated === true;
  }

  /** Mints a ServiceAccount token with the TokenRequest API. */
  async createToken(namespace: string, serviceAccount: string, audiences: string[], expirationSeconds = 600): Promise<{ token: string; expiresAt: Date }> {
    const result = await this.request<{ status: { token: string; expirationTimestamp: string } }>(
      HttpMethod.POST,
      this.path({ group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true }, namespace, serviceAccount, 'token'),
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences, expirationSeconds } } },
    );
    return { token: result.status.token, expiresAt: new Date(result.status.expirationTimestamp) };
  }
}

/** "secrets", "externalsecrets/status", ... from an API path. */
export function resourceOf(path: string): string {
  const { parts, i } = splitPath(path);
  const plural = parts[i] ?? '';
  const sub = parts[i + 2];
  return sub ? `${plural}/${sub}` : plural;
}

/** The verb as the API server counts it: a GET of a collection is a LIST. */
export function verbOf(method: string, path: string): string {
  if (method !== 'GET') return method;
  const { parts, i } = splitPath(path);
  return parts.length === i + 1 ? 'LIST' : 'GET';
}

/** The path's segments, and where the resource's plural is among them. */
function splitPath(path: string): { parts: string[]; i: number } {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  // /api/v1[/namespaces/ns]/plural[/name[/sub]] or /apis/group/version[/namespaces/ns]/plural[/name[/sub]]
  let i = parts[0] === 'api' ? 2 : 3;
  if (parts[i] === 'namespaces' && parts.length > i + 2) i += 2;
  return { parts, i };
}

function apiError(status: number, body: string, what: string): KubeApiError {
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    return new KubeApiError(status, parsed.reason ?? String(status), parsed.message ?? `${what}: HTTP ${status}`);
  } catch {
    return new KubeApiError(status, String(status), `${what}: HTTP ${status}`);
  }
}
