// Builds ExternalSecret status and decides whether it changed.
import { isDeepStrictEqual } from 'node:util';
import type { ExternalSecretStatus } from '../../api/types.js';
import type { Condition } from '../../kube/types.js';

export function readyCondition(
  previous: ExternalSecretStatus | undefined,
  status: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
  now: Date,
): Condition {
  const old = previous?.conditions?.find((c) => c.type === 'Ready');
  const value = status ? 'True' : 'False';
  return {
    type: 'Ready',
    status: value,
    reason,
    message,
    // The transition time moves only when the status flips.
    lastTransitionTime: old && old.status === value ? old.lastTransitionTime : now.toISOString(),
    observedGeneration: generation,
  };
}

/** Drops undefined fields so comparison and apply see the same thing. */
export function clean<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function statusChanged(previous: ExternalSecretStatus | undefined, next: ExternalSecretStatus): boolean {
  return !isDeepStrictEqual(clean(previous ?? {}), clean(next));
}
