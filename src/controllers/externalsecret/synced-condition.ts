// The Ready condition of a sync that worked.
import { Reason } from '../../api/reasons.js';
import type { ExternalSecret } from '../../api/types.js';
import { readyCondition } from '../../kube/status.js';
import type { Condition } from '../../kube/types.js';
import type { SourceInfo } from '../../providers/provider.js';

/** Ready=True; the reason says when a remote value's own expiry date has passed (fetching again will not help). */
export function syncedCondition(es: ExternalSecret, expired: SourceInfo[], now: number): Condition {
  const generation = es.metadata.generation;
  if (expired.length === 0) return readyCondition(es.status, true, Reason.Synced, 'Secret is in sync with the provider', generation, new Date(now));
  const which = expired.map((s) => `"${s.key}" (expired ${s.expiresAt!.toISOString()})`).join(', ');
  const message = `Secret is in sync, but remote secret ${which} has passed its expiry date and was not replaced; refreshing at the normal interval`;
  return readyCondition(es.status, true, Reason.SourceExpired, message, generation, new Date(now));
}
