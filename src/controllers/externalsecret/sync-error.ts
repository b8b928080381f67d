// The error that carries an ExternalSecret Ready reason.
import type { Reason } from '../../api/reasons.js';

/** A failure with a status reason. `retry` false waits for a change instead of backing off. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly reason: Reason,
    message: string,
    readonly retry: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
