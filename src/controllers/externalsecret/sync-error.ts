// The error that carries an ExternalSecret Ready reason.
import type { PushReason, Reason } from '../../api/reasons.js';

/** A failure with a status reason. `retry` false waits for a change instead of backing off. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly reason: Reason | PushReason,
    message: string,
    readonly retry: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
