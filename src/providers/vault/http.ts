// One Vault / OpenBao request: the token and the remaining time before the
// call's deadline go with each request (node-vault's shared `token` field is
// never set, so a login in progress cannot strip the token from other
// requests), the request is counted against the store's budget, and failures
// become typed errors whose messages carry paths, never values.
import type { client as VaultApi } from 'node-vault';
import { ConflictError, NotFoundError, PermissionDeniedError, ProviderTimeoutError, ThrottledError } from '../errors.js';
import type { CallContext } from '../provider.js';
import { RemoteTooLargeError, tooLargeAnswer } from '../response-limit.js';

export interface VaultResponse {
  data?: Record<string, unknown> & { data?: Record<string, unknown>; metadata?: Record<string, unknown>; keys?: string[] };
  auth?: { client_token: string; lease_duration: number; renewable: boolean };
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
}

type Method = 'read' | 'write' | 'list' | 'delete';

/** Any other failed request, with its HTTP status when there was an answer. */
export class VaultRequestError extends Error {
  override readonly name = 'VaultRequestError';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export class VaultHttp {
  constructor(
    readonly api: VaultApi,
    readonly server: string,
    /** Closes the connection pool behind `api`. */
    readonly close: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /** Sends one request; `token` undefined for logins; `what` names the secret in errors (default: the path). */
  async send(ctx: CallContext, method: Method, path: string, token: string | undefined, body?: Record<string, unknown>, what = path): Promise<VaultResponse> {
    await ctx.request();
    const options = {
      headers: token ? { 'X-Vault-Token': token } : {},
      // Reaches our transport (transport.ts): aborted at the call's deadline or on shutdown.
      signal: ctx.signal,
    };
    try {
      if (method === 'write') return (await this.api.write(path, body ?? {}, options)) as VaultResponse;
      if (method === 'delete') return ((await this.api.delete(path, options)) ?? {}) as VaultResponse;
      if (method === 'list') return (await this.api.list(path, options)) as VaultResponse;
      return (await this.api.read(path, options)) as VaultResponse;
    } catch (err) {
      throw this.error(err, what);
    }
  }

  /** Maps a node-vault failure to a typed error. */
  error(err: unknown, what: string): Error {
    if (err instanceof RemoteTooLargeError) return tooLargeAnswer(what);
    const e = err as { response?: { statusCode?: number }; code?: string; name?: string; message?: string; cause?: { code?: string } };
    const status = e.response?.statusCode;
    const code = e.code ?? e.cause?.code;
    if (status === 404) return new NotFoundError(what);
    // KV v2 check-and-set: the version moved since it was inspected.
    if (status === 400 && /check-and-set/i.test(String(e.message))) return new ConflictError(`"${what}" changed while it was being written (check-and-set)`);
    if (status === 403) return new PermissionDeniedError(`permission denied reading "${what}"`);
    if (status === 429) return new ThrottledError(`vault at ${this.server} is rate limiting requests (HTTP 429)`);
    if (status === 503) return new VaultRequestError(`vault at ${this.server} is sealed or unavailable`, status);
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ETIMEDOUT') {
      return new ProviderTimeoutError(`vault at ${this.server} did not answer for "${what}" in time`);
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return new VaultRequestError(`cannot reach vault at ${this.server} (${code})`);
    return new VaultRequestError(`vault request for "${what}" failed${status ? ` with HTTP ${status}` : ''}: ${(e.message ?? '').split('\n')[0]}`, status);
  }
}
