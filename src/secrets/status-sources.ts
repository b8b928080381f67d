// status.sources: what each value's provider said about it (provenance,
// never values), as recorded after a sync and read back after a restart.
import type { ExternalSecretStatus } from '../api/types.js';
import type { RecordedSource, SourceInfo } from '../providers/provider.js';

type StatusSource = NonNullable<ExternalSecretStatus['sources']>[number];

/** The status entry for one source: a lease end counts as its expiry. */
export function recordSource(s: SourceInfo): StatusSource {
  return { key: s.key, version: s.version, expiresAt: (s.leaseEndsAt ?? s.expiresAt)?.toISOString(), rotatesAt: s.rotatesAt?.toISOString() };
}

/** A recorded date, or undefined when absent or unreadable. */
export function dateOf(recorded: string | undefined): Date | undefined {
  const date = recorded === undefined ? undefined : new Date(recorded);
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** The versioned sources the last sync recorded, for ProviderClient.recall. */
export function recordedSources(status: ExternalSecretStatus | undefined): RecordedSource[] {
  const at = dateOf(status?.refreshTime)?.getTime();
  if (at === undefined) return [];
  return (status?.sources ?? []).flatMap((s) => (s.version === undefined ? [] : [{ key: s.key, version: s.version, rotatesAt: dateOf(s.rotatesAt), at }]));
}
