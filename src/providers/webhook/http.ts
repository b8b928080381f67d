// A webhook store's HTTP requests through undici: one keep-alive pool per
// store client, the store's CA, every connection through the host guard (so
// the URL after templating is checked, on every connection), answers cut
// off at the response limit, and redirects followed only within the origin
// asked (a redirect to another host could carry the store's headers to it).
import { Agent, request } from 'undici';
import type { ConnectGuard } from '../connect-guard.js';
import { ProviderTimeoutError } from '../errors.js';
import type { CallContext } from '../provider.js';
import { readLimited } from '../response-limit.js';

/** Same-origin redirects followed for one request. */
const MAX_REDIRECTS = 3;

export interface WebhookRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export interface WebhookResponse {
  status: number;
  body: Buffer;
  header(name: string): string | undefined;
}

export class WebhookHttp {
  private readonly dispatcher: Agent;

  constructor(ca: string | undefined, guard: ConnectGuard | undefined, private readonly timeoutMs: number, private readonly timeoutField: string) {
    const tls = ca ? { ca } : {};
    this.dispatcher = new Agent({ connect: guard ? guard.undiciConnect(tls) : tls, keepAliveTimeout: 30_000 });
  }

  async send(req: WebhookRequest, what: string, ctx: CallContext): Promise<WebhookResponse> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let current = req;
    for (let redirects = 0; ; redirects++) {
      await ctx.request();
      let status: number;
      let headers: Record<string, string | string[] | undefined>;
      let body: Buffer;
      try {
        const res = await request(current.url, { method: current.method as 'GET', headers: current.headers, body: current.body, dispatcher: this.dispatcher, signal });
        status = res.statusCode;
        headers = res.headers;
        body = await readLimited(res.body, what);
      } catch (err) {
        if (timeout.aborted && !ctx.signal.aborted) throw new ProviderTimeoutError(`the webhook did not answer ${what} within ${this.timeoutMs / 1000}s (${this.timeoutField})`);
        throw err;
      }
      const location = headers.location;
      if (status >= 300 && status < 400 && typeof location === 'string') {
        current = redirected(current, status, location, what);
        if (redirects >= MAX_REDIRECTS) throw new Error(`the webhook redirected ${what} more than ${MAX_REDIRECTS} times`);
        continue;
      }
      return { status, body, header: (name) => { const v = headers[name]; return Array.isArray(v) ? v[0] : v; } };
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The request a redirect asks for, when it stays on the same origin; an error otherwise. */
function redirected(req: WebhookRequest, status: number, location: string, what: string): WebhookRequest {
  const from = new URL(req.url);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new Error(`the webhook redirected ${what} (HTTP ${status}) to something that is not a URL`);
  }
  if (to.origin !== from.origin) {
    throw new Error(`the webhook redirected ${what} (HTTP ${status}) to another host (${to.host}); redirects are followed only within ${from.host}, so the store's headers never reach another server`);
  }
  // 303, and 301/302 after a POST, turn into a GET without a body, as browsers and Go's client do.
  const asGet = status === 303 || ((status === 301 || status === 302) && req.method !== 'GET' && req.method !== 'HEAD');
  return { ...req, url: to.toString(), method: asGet ? 'GET' : req.method, body: asGet ? undefined : req.body };
}
