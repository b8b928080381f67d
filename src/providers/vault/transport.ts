// node-vault's HTTP layer, replaced (through its `request-promise` option)
// by undici: one keep-alive pool per store, the call's AbortSignal ends the
// request at its deadline, and answers are cut off at MAX_RESPONSE_BYTES
// while they stream in instead of being buffered whole by axios.
import { Agent, request } from 'undici';
import { readLimited } from '../response-limit.js';

/** What node-vault passes to its request function (the subset we honour). */
interface VaultRequestOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
  timeout?: number;
  signal?: AbortSignal;
}

/** What node-vault expects back: request-promise's full response. */
interface VaultRawResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

/** A `request-promise` stand-in for node-vault's config. */
export function vaultTransport(ca: string | undefined): { defaults: () => (options: VaultRequestOptions) => Promise<VaultRawResponse> } {
  const dispatcher = new Agent({ connect: ca ? { ca } : {}, keepAliveTimeout: 30_000 });
  const send = async (options: VaultRequestOptions): Promise<VaultRawResponse> => {
    const url = new URL(options.uri);
    const hasBody = options.json !== undefined && typeof options.json === 'object';
    const signals = [options.signal, options.timeout ? AbortSignal.timeout(options.timeout) : undefined].filter((s) => s !== undefined);
    const response = await request(url, {
      method: options.method as 'GET',
      headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: hasBody ? JSON.stringify(options.json) : undefined,
      dispatcher,
      signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
    });
    const text = (await readLimited(response.body, url.pathname)).toString('utf8');
    return { statusCode: response.statusCode, body: parseBody(text), request: { path: url.pathname } };
  };
  return { defaults: () => send };
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
