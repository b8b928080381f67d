// The error that carries an ExternalSecret Ready reason.
import type { PushReason, Reason } from '../api/reasons.js';

/**
 * A failure with a status reason. `retry` false waits for a change instead of
 * backing off; `retryAfterMs` retries at that time instead of by backoff (the
 * failure knows when trying again can help).
 */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  readonly retryAfterMs?: number;
  constructor(
    readonly reason: Reason | PushReason,
    message: string,
    readonly retry: boolean,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}
