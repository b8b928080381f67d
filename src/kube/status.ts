// Status helpers shared by the controllers: the Ready condition, and whether
// a status changed (it is written only then).
import { isDeepStrictEqual } from 'node:util';
import type { Condition } from './types.js';

/** The Ready condition of an object's status, if it has one. */
export function findReady(status: { conditions?: Condition[] } | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True for the object's current spec (status.observedGeneration is its generation). */
export function syncedAtGeneration(obj: { metadata: { generation?: number }; status?: { conditions?: Condition[]; observedGeneration?: number } }): boolean {
  return findReady(obj.status)?.status === 'True' && obj.status?.observedGeneration === obj.metadata.generation;
}

/** The Ready condition; its transition time moves only when its status flips. */
export function readyCondition(
  previous: { conditions?: Condition[] } | undefined,
  status: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
  now: Date,
): Condition {
  const old = findReady(previous);
  const value = status ? 'True' : 'False';
  return {
    type: 'Ready',
    status: value,
    reason,
    message,
    lastTransitionTime: old && old.status === value ? old.lastTransitionTime : now.toISOString(),
    observedGeneration: generation,
  };
}

/** Stalled=True: the failure will not clear by retrying (kstatus reports the object Failed). */
export function stalledCondition(previous: { conditions?: Condition[] } | undefined, reason: string, message: string, generation: number | undefined, now: Date): Condition {
  const old = previous?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
  return { type: 'Stalled', status: 'True', reason, message, lastTransitionTime: old ? old.lastTransitionTime : now.toISOString(), observedGeneration: generation };
}

/** Drops undefined fields so comparison and the written patch see the same thing. */
export function clean<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function statusChanged(previous: object | undefined, next: object): boolean {
  return !isDeepStrictEqual(clean(previous ?? {}), clean(next));
}
