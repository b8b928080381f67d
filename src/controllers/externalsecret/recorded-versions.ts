// A due refresh need not read any value when the provider confirms that each
// remote secret is still at the version the last sync recorded (Vault KV v2
// metadata): the same spec, the same versions and a Secret nobody touched
// since make the same Secret. This spares a restarted operator, whose caches
// are empty, from reading every value again only to learn nothing changed.
import { OWNER_ANNOTATION } from '../../api/names.js';
import type { ExternalSecret } from '../../api/types.js';
import type { KubeObject } from '../../kube/types.js';
import { creationPolicy } from '../../secrets/desired-secret.js';

/**
 * The versions the last sync recorded, by remote key, when they alone decide
 * the Secret. Undefined when something else can change it or nothing can be
 * confirmed: a Secret changed since that sync (its resourceVersion is not the
 * one status records), a Merge target, a pinned version, a find (new
 * matches), a template read from a ConfigMap or Secret, a value that expires,
 * a source without a version, metadata (tags change without a new version).
 */
export function recordedVersions(es: ExternalSecret, cached: KubeObject | undefined): Map<string, string> | undefined {
  const policy = creationPolicy(es);
  if (policy === 'Merge' || policy === 'None') return undefined;
  const rv = cached?.metadata.resourceVersion;
  if (cached?.metadata.annotations?.[OWNER_ANNOTATION] !== es.metadata.name || rv === undefined || rv !== es.status?.binding?.resourceVersion) return undefined;
  const { spec } = es;
  if (spec.data?.some((d) => d.remoteRef.version !== undefined || d.remoteRef.metadataPolicy === 'Fetch')) return undefined;
  if (spec.dataFrom?.some((d) => d.find !== undefined || d.extract?.version !== undefined || d.extract?.metadataPolicy === 'Fetch')) return undefined;
  if (spec.target?.template?.templateFrom?.some((t) => t.configMap !== undefined || t.secret !== undefined)) return undefined;

  const versions = new Map<string, string>();
  for (const source of es.status?.sources ?? []) {
    if (!source.version || source.expiresAt !== undefined) return undefined;
    const seen = versions.get(source.key);
    if (seen !== undefined && seen !== source.version) return undefined;
    versions.set(source.key, source.version);
  }
  const keys = [...(spec.data ?? []).map((d) => d.remoteRef.key), ...(spec.dataFrom ?? []).flatMap((d) => (d.extract ? [d.extract.key] : []))];
  if (keys.length === 0 || keys.some((k) => !versions.has(k)) || versions.size !== new Set(keys).size) return undefined;
  return versions;
}
