// Conjur's HTTP API through undici: one keep-alive pool per store client,
// the store's CA (TLS is always verified), the call's AbortSignal, answers
// cut off at the response limit, and Conjur's status codes as typed provider
// errors. Messages name variables and logins, never values, keys or tokens.
import { Agent, request } from 'undici';
import type { ConnectGuard } from '../connect-guard.js';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../errors.js';
import type { CallContext } from '../provider.js';
import { readLimited } from '../response-limit.js';

export interface ConjurResponse {
  status: number;
  body: Buffer;
  contentEncoding?: string;
}

export class ConjurHttp {
  private readonly dispatcher: Agent;

  constructor(
    private readonly base: string,
    ca: string | undefined,
    guard?: ConnectGuard,
  ) {
    const tls = ca ? { ca } : {};
    // undici's request() follows no redirect: a 3xx is an answer like any other.
    this.dispatcher = new Agent({ connect: guard ? guard.undiciConnect(tls) : tls, keepAliveTimeout: 30_000 });
  }

  async send(method: 'GET' | 'POST', path: string, ctx: CallContext, headers: Record<string, string> = {}, body?: string): Promise<ConjurResponse> {
    await ctx.request();
    const url = `${this.base}${path}`;
    const response = await request(url, { method, headers, body, dispatcher: this.dispatcher, signal: ctx.signal });
    const data = await readLimited(response.body, path.split('?')[0]!);
    const encoding = response.headers['content-encoding'];
    return { status: response.statusCode, body: data, contentEncoding: typeof encoding === 'string' ? encoding : undefined };
  }

  /** A login: the access token (its JSON), or an error that names who was refused. */
  async authenticate(path: string, body: string, contentType: string, who: string, ctx: CallContext): Promise<Buffer> {
    const res = await this.send('POST', path, ctx, { 'content-type': contentType, 'accept-encoding': 'base64' }, body);
    if (res.status === 401 || res.status === 403) throw new PermissionDeniedError(`Conjur refused the login of ${who} (HTTP ${res.status}): check the credentials and that the login may authenticate there`);
    if (res.status === 404) throw new PermissionDeniedError(`Conjur has no such authenticator or account for ${who} (HTTP 404 on ${path.replace(/\/[^/]*\/authenticate$/, '/…')})`);
    if (res.status !== 200) throw statusError(res, `login of ${who}`);
    return res.contentEncoding === 'base64' ? Buffer.from(res.body.toString('utf8'), 'base64') : res.body;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Conjur's error message, if its answer carries one (never a value: errors hold ids). */
function message(res: ConjurResponse): string {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: { message?: string } };
    return parsed.error?.message ?? '';
  } catch {
    return '';
  }
}

/** A failed answer about `what` (a variable id, a listing) as a typed provider error. */
export function statusError(res: ConjurResponse, what: string, key?: string): Error {
  const said = message(res);
  const detail = said ? `: ${said.split('\n')[0]}` : '';
  if (res.status === 404) return new NotFoundError(key ?? what, `Conjur has no such variable, or it has no value, or this login may not see it${detail}`);
  if (res.status === 422) return new NotFoundError(key ?? what, `Conjur refused the request as invalid (HTTP 422)${detail}`);
  if (res.status === 401 || res.status === 403) return new PermissionDeniedError(`Conjur refused ${what} (HTTP ${res.status}): the login lacks the execute privilege${detail}`);
  if (res.status === 429 || res.status === 503) return new ThrottledError(`Conjur is refusing requests for now (HTTP ${res.status}) for ${what}`);
  return new Error(`Conjur answered HTTP ${res.status} for ${what}${detail}`);
}
