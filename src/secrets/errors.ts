// Any failure of an ExternalSecret sync, as a SyncError: a status reason, a
// message without values, and whether retrying can help. Provider failures
// go through the one provider map (providers/errors.ts); Kubernetes failures
// are given their context where they happen, so a failed GET is never called
// a failed write.
import { Reason } from '../api/reasons.js';
import { KubeApiError } from '../kube/client.js';
import { providerFailure } from '../providers/errors.js';
import { errorMessage } from '../util/errors.js';
import { DecodingError } from './decoding.js';
import { SyncError } from './sync-error.js';

export function toSyncError(err: unknown): SyncError {
  if (err instanceof SyncError) return err;
  const message = errorMessage(err);
  if (err instanceof DecodingError) return new SyncError(Reason.InvalidData, message, false, { cause: err });
  if (err instanceof KubeApiError) return new SyncError(Reason.KubernetesError, `Kubernetes API request failed: ${message}`, true, { cause: err });
  const failure = providerFailure(err);
  const text = failure.reason === Reason.ProviderError && failure.retry ? `provider call failed: ${message}` : message;
  return new SyncError(failure.reason, text, failure.retry, { cause: err });
}

/** Runs a Kubernetes request on the sync's behalf; a failure says what it was doing. */
export async function kubeStep<T>(what: string, fn: () => Promise<T>, reason: Reason = Reason.KubernetesError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 422 && /immutable/i.test(err.message)) {
      throw new SyncError(Reason.SecretImmutable, 'the target Secret is immutable and its data changed; delete the Secret to have it recreated', false, { cause: err });
    }
    throw new SyncError(reason, `${what} failed: ${errorMessage(err)}`, true, { cause: err });
  }
}
