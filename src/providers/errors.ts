// Typed provider errors, and the one map from any failure of a provider call
// to its status reason, its metric label and whether retrying can help.
// Messages name keys and stores, never values.
import { Reason } from '../api/reasons.js';
import type { PROVIDER_CALL_STATUSES } from '../runtime/metrics.js';
import { RegexpError } from '../util/linear-regexp.js';
import { RemoteTooLargeError } from './response-limit.js';

/** The remote secret (or version, or property) does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly key: string, detail?: string) {
    super(detail ? `remote secret "${key}" not found: ${detail}` : `remote secret "${key}" not found`);
  }
}

/** The store's credentials are not allowed to read this. */
export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}

/** A conditional write lost a race: the remote secret changed (or appeared) since it was inspected. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The provider asked us to slow down. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

export interface HeaderGetter {
  get(name: string): string | undefined;
}

/** Retry-After (seconds or an HTTP date), or Azure's x-ms-retry-after-ms, in ms. */
export function retryAfterMs(headers: HeaderGetter | undefined): number | undefined {
  const ms = Number(headers?.get('x-ms-retry-after-ms') ?? headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The provider did not answer before the call's deadline. */
export class ProviderTimeoutError extends Error {
  override readonly name = 'ProviderTimeoutError';
}

/** The store is held back (store-seats.ts): this sync waits its turn instead of waiting on the store's calls. */
export class StoreHeldBackError extends Error {
  override readonly name = 'StoreHeldBackError';
}

/** A connection to a tenant-controlled endpoint was refused: its address is in a --deny-store-hosts range (connect-guard.ts). */
export class HostNotAllowedError extends Error {
  override readonly name = 'HostNotAllowedError';
  readonly code = 'EHOSTNOTALLOWED';
  constructor(message: string) {
    super(`HostNotAllowed: ${message}`);
  }
}

/** The store's configuration is wrong (bad spec, missing credential Secret, ...). */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
}


export interface ProviderFailure {
  reason: Reason;
  /** `status` label of secretsync_provider_calls_total. */
  metric: Exclude<(typeof PROVIDER_CALL_STATUSES)[number], 'ok'>;
  /** False: only a change to the spec or store can fix it. */
  retry: boolean;
}

const HOST_NOT_ALLOWED: ProviderFailure = { reason: Reason.HostNotAllowed, metric: 'denied', retry: true };

const FAILURES: Array<[new (...args: never[]) => Error, ProviderFailure]> = [
  [NotFoundError, { reason: Reason.RemoteNotFound, metric: 'not_found', retry: true }],
  [PermissionDeniedError, { reason: Reason.PermissionDenied, metric: 'denied', retry: true }],
  [ConflictError, { reason: Reason.ProviderError, metric: 'error', retry: true }],
  [ThrottledError, { reason: Reason.Throttled, metric: 'throttled', retry: true }],
  [ProviderTimeoutError, { reason: Reason.ProviderTimeout, metric: 'timeout', retry: true }],
  [HostNotAllowedError, HOST_NOT_ALLOWED],
  // Never a call of its own (no call is made): the metric label is that of the calls that hold the store back.
  [StoreHeldBackError, { reason: Reason.StoreHeldBack, metric: 'timeout', retry: true }],
  [StoreConfigError, { reason: Reason.ProviderError, metric: 'config', retry: false }],
  // Retried with backoff: the remote owner can shrink it; the read stops at the limit, so retries stay cheap.
  [RemoteTooLargeError, { reason: Reason.SecretTooLarge, metric: 'too_large', retry: true }],
  [RegexpError, { reason: Reason.InvalidData, metric: 'config', retry: false }],
];
const OTHER: ProviderFailure = { reason: Reason.ProviderError, metric: 'error', retry: true };

export function providerFailure(err: unknown): ProviderFailure {
  for (const [type, failure] of FAILURES) if (err instanceof type) return failure;
  return refusedByGuard(err) ? HOST_NOT_ALLOWED : OTHER;
}

/** SDKs wrap a failed connection in errors of their own (RestError, a gRPC status): the guard's refusal shows in their code, message or cause. */
function refusedByGuard(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  if ((err as { code?: unknown }).code === 'EHOSTNOTALLOWED' || err.message.includes('HostNotAllowed: ')) return true;
  return refusedByGuard(err.cause, depth + 1);
}
