// Dynamic-secret leases behind a managed Secret, recorded durably in an
// annotation on that Secret (lease ids and TTLs only: an id alone grants
// nothing). A restarted operator reads them back to renew the credentials the
// Secret already holds, rather than minting new ones, and to revoke them when
// the ExternalSecret goes (its finalizer keeps it, and so the Secret, until then).
import { LEASES_ANNOTATION, LEASES_FINALIZER } from '../../api/names.js';
import type { ExternalSecret } from '../../api/types.js';
import type { KubeObject } from '../../kube/types.js';
import type { SourceInfo } from '../../providers/provider.js';

export interface RecordedLease {
  /** The remote key the lease was issued for. */
  key: string;
  id: string;
  ttlSeconds: number;
}

export function leasesOf(sources: SourceInfo[]): RecordedLease[] {
  return sources.flatMap((s) => (s.lease ? [{ key: s.key, id: s.lease.id, ttlSeconds: s.lease.ttlSeconds }] : []));
}

export function encodeLeases(leases: RecordedLease[]): string {
  return JSON.stringify(leases.map((l) => [l.key, l.id, l.ttlSeconds]));
}

/** The leases recorded on a Secret; an annotation that does not parse records none. */
export function recordedLeases(secret: KubeObject | undefined): RecordedLease[] {
  const text = secret?.metadata.annotations?.[LEASES_ANNOTATION];
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((entry: unknown) => {
      if (!Array.isArray(entry)) return [];
      const [key, id, ttlSeconds] = entry as unknown[];
      return typeof key === 'string' && typeof id === 'string' && typeof ttlSeconds === 'number' ? [{ key, id, ttlSeconds }] : [];
    });
  } catch {
    return [];
  }
}

export function holdsLeaseFinalizer(es: ExternalSecret): boolean {
  return es.metadata.finalizers?.includes(LEASES_FINALIZER) ?? false;
}
