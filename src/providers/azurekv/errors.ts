// Key Vault and Entra ID failures as typed provider errors. Key Vault's
// messages name objects and applications, never values.
import { NotFoundError, PermissionDeniedError, retryAfterMs, ThrottledError, type HeaderGetter } from '../errors.js';
import { RemoteTooLargeError, tooLargeAnswer } from '../response-limit.js';

interface AzureFailure {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  details?: { error?: { innererror?: { code?: string } } };
  response?: { headers?: HeaderGetter };
}

export function azureError(err: unknown, key: string, version?: string): Error {
  if (err instanceof RemoteTooLargeError) return tooLargeAnswer(key);
  const e = err as AzureFailure;
  const message = (e.message ?? String(err)).split('\n')[0]!;
  const inner = e.details?.error?.innererror?.code;
  if (e.name === 'AbortError') return err as Error;
  if (e.statusCode === 404) return new NotFoundError(key, version ? `version "${version}" does not exist` : undefined);
  if (e.statusCode === 403 && (inner?.endsWith('Disabled') || /disabled/i.test(message))) return new NotFoundError(key, `it is disabled in Key Vault${version ? ` (version "${version}")` : ''}`);
  if (e.statusCode === 429) return new ThrottledError(`Azure Key Vault is throttling requests (HTTP 429) reading "${key}"`, retryAfterMs(e.response?.headers));
  if (e.statusCode === 401 || e.statusCode === 403) return new PermissionDeniedError(`Key Vault refused "${key}": ${message}`);
  // @azure/identity: Entra ID refused the credentials (wrong secret, unknown client, no federated credential).
  if (e.name === 'AuthenticationError' || e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationRequiredError') {
    return new PermissionDeniedError(`Entra ID refused the store's credentials: ${message}`);
  }
  return new Error(`Azure Key Vault call for "${key}" failed: ${e.code ? `${e.code}: ` : ''}${message}`);
}
