// The Secrets API of the store's cluster through undici, as the store: its
// own connection pool, the cluster's CA, the store's token or client
// certificate, the host guard for any server but the operator's own, answers
// cut off at the response limit, and the API's status codes as typed
// provider errors (the API server's messages name objects and users, never
// values).
import { Agent, request, type Dispatcher } from 'undici';
import type { ConnectGuard } from '../connect-guard.js';
import { ConflictError, NotFoundError, PermissionDeniedError, retryAfterMs, ThrottledError } from '../errors.js';
import type { CallContext } from '../provider.js';
import { hideEchoedValues, METADATA_ONLY, METADATA_ONLY_LIST } from '../../kube/client.js';
import { readLimited } from '../response-limit.js';
import type { Connection } from './connection.js';

/** A Secret as the API returns it (data base64). */
export interface ApiSecret {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

interface ApiList {
  metadata: { resourceVersion: string; continue?: string };
  items: ApiSecret[];
}

/** A listing page of Secrets holds up to 1 MiB per Secret: pages stay small and are bounded apart from single answers. */
const LIST_PAGE = 25;
const LIST_PAGE_BYTES = 32 * 1024 * 1024;

export class SecretsApi {
  private readonly dispatcher: Agent;

  constructor(private readonly conn: Connection, readonly namespace: string, guard: ConnectGuard | undefined) {
    const tls = { ca: conn.ca, cert: conn.cert, key: conn.key };
    this.dispatcher = new Agent({ connect: guard && !conn.ownCluster ? guard.undiciConnect(tls) : tls, keepAliveTimeout: 30_000 });
  }

  private path(name?: string, namespace = this.namespace): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  }

  /** One request as the store (its token, if it uses one); the caller reads the body. */
  private async open(method: string, path: string, accept: string, signal: AbortSignal, body?: unknown): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept };
    if (this.conn.token) headers.authorization = `Bearer ${await this.conn.token()}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return request(`${this.conn.server.replace(/\/$/, '')}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: this.dispatcher, signal });
  }

  /** One request; the answer's JSON, or a typed error naming `what`. */
  async send<T>(method: string, path: string, what: string, ctx: CallContext, body?: unknown, limit?: number): Promise<T> {
    await ctx.request();
    const res = await this.open(method, path, 'application/json', ctx.signal, body);
    const text = (await readLimited(res.body, what, limit)).toString('utf8');
    if (res.statusCode >= 200 && res.statusCode < 300) return JSON.parse(text) as T;
    throw apiError(res.statusCode, text, what, (name) => { const v = res.headers[name]; return Array.isArray(v) ? v[0] : v; });
  }

  /** The Secret, or undefined when there is none. */
  async get(name: string, ctx: CallContext): Promise<ApiSecret | undefined> {
    try {
      return await this.send<ApiSecret>('GET', this.path(name), `Secret "${this.namespace}/${name}"`, ctx);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Every Secret with these labels (a label selector), page by page, up to `most`. */
  async list(labelSelector: string | undefined, most: number, ctx: CallContext): Promise<ApiSecret[]> {
    const out: ApiSecret[] = [];
    let next: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(LIST_PAGE) });
      if (labelSelector) query.set('labelSelector', labelSelector);
      if (next) query.set('continue', next);
      const page = await this.send<ApiList>('GET', `${this.path()}?${query.toString()}`, `the Secrets of namespace "${this.namespace}"`, ctx, undefined, LIST_PAGE_BYTES);
      out.push(...page.items);
      next = page.metadata.continue;
    } while (next && out.length < most);
    return out.slice(0, most);
  }

  create(secret: ApiSecret, ctx: CallContext): Promise<ApiSecret> {
    return this.send('POST', `${this.path()}?fieldManager=secretsync`, `Secret "${this.namespace}/${secret.metadata.name}"`, ctx, secret);
  }

  /** A replace conditioned on metadata.resourceVersion: a change in between is a ConflictError. */
  replace(secret: ApiSecret, ctx: CallContext): Promise<ApiSecret> {
    return this.send('PUT', `${this.path(secret.metadata.name)}?fieldManager=secretsync`, `Secret "${this.namespace}/${secret.metadata.name}"`, ctx, secret);
  }

  async remove(name: string, ctx: CallContext): Promise<void> {
    try {
      await this.send('DELETE', this.path(name), `Secret "${this.namespace}/${name}"`, ctx);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** Whether the store's credentials may `verb` Secrets in the namespace (a SelfSubjectAccessReview, answered by the API server's authorizer). */
  async may(verb: string, ctx: CallContext): Promise<boolean> {
    const review = await this.send<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'an access review', ctx, {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: this.namespace, verb, resource: 'secrets' } },
    });
    return review.status?.allowed === true;
  }

  /** A metadata-only watch of the namespace's Secrets from `resourceVersion` (refresh events); the caller reads the body. */
  async watch(resourceVersion: string, signal: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const query = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', resourceVersion, timeoutSeconds: '300' });
    const res = await this.open('GET', `${this.path()}?${query.toString()}`, METADATA_ONLY, signal);
    if (res.statusCode !== 200) {
      const text = (await readLimited(res.body, 'a watch')).toString('utf8');
      throw apiError(res.statusCode, text, `a watch of the Secrets of namespace "${this.namespace}"`, () => undefined);
    }
    return res.body as AsyncIterable<Buffer>;
  }

  /** The namespace's Secrets' resourceVersion, from a metadata-only listing of one (where a watch starts). */
  async listVersion(signal: AbortSignal): Promise<string> {
    const res = await this.open('GET', `${this.path()}?limit=1`, METADATA_ONLY_LIST, signal);
    const text = (await readLimited(res.body, 'a listing')).toString('utf8');
    if (res.statusCode !== 200) throw apiError(res.statusCode, text, `a listing of the Secrets of namespace "${this.namespace}"`, () => undefined);
    return (JSON.parse(text) as ApiList).metadata.resourceVersion;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

function apiError(status: number, text: string, what: string, header: (name: string) => string | undefined): Error {
  let message = '';
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? '';
  } catch {
    // Not a Status object: the code says enough.
  }
  const detail = message ? `: ${hideEchoedValues(message.split('\n')[0]!).slice(0, 300)}` : '';
  if (status === 404) return new NotFoundError(what.replace(/^Secret "(.*)"$/, '$1'), `the API server answered HTTP 404${detail}`);
  if (status === 401) return new PermissionDeniedError(`the API server did not accept the store's credentials for ${what} (HTTP 401)`);
  if (status === 403) return new PermissionDeniedError(`the store's credentials may not do this to ${what} (HTTP 403)${detail}`);
  if (status === 409) return new ConflictError(`${what} changed or appeared meanwhile (HTTP 409)`);
  if (status === 429) return new ThrottledError(`the API server is throttling requests for ${what} (HTTP 429)`, retryAfterMs({ get: header }));
  return new Error(`the API server answered HTTP ${status} for ${what}${detail}`);
}
