// Secret Manager (gRPC) and Google token service failures as typed provider
// errors. The service's messages name resources and permissions, never payloads.
import { ConflictError, NotFoundError, PermissionDeniedError, ThrottledError } from '../errors.js';
import { tooLargeAnswer } from '../response-limit.js';

/** gRPC status codes the map below uses. */
const Code = { NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, UNAUTHENTICATED: 16 } as const;

interface GoogleFailure {
  name?: string;
  code?: number | string;
  details?: string;
  message?: string;
  statusDetails?: Array<{ retryDelay?: { seconds?: number | string | { toString(): string }; nanos?: number } }>;
  response?: { data?: { error_description?: string; error?: string | { message?: string } } };
}

/** The server's RetryInfo delay, in ms. */
export function retryDelayMs(err: GoogleFailure): number | undefined {
  for (const d of err.statusDetails ?? []) {
    if (!d.retryDelay) continue;
    return Number(String(d.retryDelay.seconds ?? 0)) * 1000 + Math.floor((d.retryDelay.nanos ?? 0) / 1e6);
  }
  return undefined;
}

export function googleError(err: unknown, key: string): Error {
  const e = err as GoogleFailure;
  const message = (e.details ?? e.message ?? String(err)).split('\n')[0]!;
  switch (e.code) {
    case Code.NOT_FOUND:
      return new NotFoundError(key);
    case Code.FAILED_PRECONDITION: {
      const state = /in (DISABLED|DESTROYED) state/.exec(message)?.[1];
      return state ? new NotFoundError(key, `the version is ${state.toLowerCase()}`) : new Error(`Secret Manager refused "${key}": ${message}`);
    }
    case Code.ALREADY_EXISTS:
      return new ConflictError(`"${key}" already exists in Secret Manager`);
    case Code.PERMISSION_DENIED:
    case Code.UNAUTHENTICATED:
      return new PermissionDeniedError(`Secret Manager refused "${key}": ${message}`);
    case Code.RESOURCE_EXHAUSTED:
      // gRPC's own limit on what the channel receives (grpc.max_receive_message_length), not the service.
      if (/larger than max/i.test(message)) return tooLargeAnswer(key);
      return new ThrottledError(`Secret Manager is throttling requests (RESOURCE_EXHAUSTED) reading "${key}"`, retryDelayMs(e));
    default:
      break;
  }
  // google-auth-library: the token services refused the credentials (STS, IAM Credentials).
  const data = e.response?.data;
  if (data && (data.error_description || data.error)) {
    const detail = data.error_description ?? (typeof data.error === 'string' ? data.error : data.error?.message);
    return new PermissionDeniedError(`Google refused the store's credentials: ${detail}`);
  }
  return new Error(`Secret Manager call for "${key}" failed: ${message}`);
}
