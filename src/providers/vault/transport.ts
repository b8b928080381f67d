// node-vault's HTTP layer, replaced (through its `request-promise` option)
// by undici: one keep-alive pool per store client (closed with it), the
// call's AbortSignal (which carries its deadline) ends the request, and
// answers are cut off at MAX_RESPONSE_BYTES while they stream in instead of
// being buffered whole by axios.
import { Agent, request } from 'undici';
import type { ConnectGuard } from '../connect-guard.js';
import { readLimited } from '../response-limit.js';

/** What node-vault passes to its request function (the subset we honour). */
interface VaultRequestOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
  signal?: AbortSignal;
}

/** What node-vault expects back: request-promise's full response. */
interface VaultRawResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

export interface VaultTransport {
  /** What node-vault's `request-promise` option calls. */
  defaults: () => (options: VaultRequestOptions) => Promise<VaultRawResponse>;
  close: () => Promise<void>;
}

export function vaultTransport(ca: string | undefined, guard?: ConnectGuard): VaultTransport {
  const tls = ca ? { ca } : {};
  // undici's request() follows no redirect: a 3xx is an answer like any other.
  const dispatcher = new Agent({ connect: guard ? guard.undiciConnect(tls) : tls, keepAliveTimeout: 30_000 });
  const send = async (options: VaultRequestOptions): Promise<VaultRawResponse> => {
    const url = new URL(options.uri);
    const hasBody = options.json !== undefined && typeof options.json === 'object';
    const response = await request(url, {
      method: options.method as 'GET',
      headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: hasBody ? JSON.stringify(options.json) : undefined,
      dispatcher,
      signal: options.signal,
    });
    const text = (await readLimited(response.body, url.pathname)).toString('utf8');
    return { statusCode: response.statusCode, body: parseBody(text), request: { path: url.pathname } };
  };
  return { defaults: () => send, close: () => dispatcher.close() };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Vault answers JSON; anything else (a proxy's HTML page) is kept as text for the status code's sake.
    return text;
  }
}
