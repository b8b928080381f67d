// The Secret an ExternalSecret asks for, as a server-side apply body.
import type { ExternalSecret } from '../api/types.js';
import { API_VERSION, type Secret } from '../kube/types.js';
import { HASH_ANNOTATION, MANAGED_LABEL, OWNER_ANNOTATION } from '../api/names.js';
import { dataHash, encodeSecretData, type HmacKey } from './data-hash.js';
import { Reason } from '../api/reasons.js';
import { SyncError } from './sync-error.js';

/** Kubernetes refuses Secrets whose data adds up to more than this. */
export const MAX_SECRET_BYTES = 1024 * 1024;
/** Types that would mint credentials for the cluster itself: never written. */
const FORBIDDEN_TYPES = new Set(['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token']);
/** Existing Secrets never merged into: cluster credentials, and Helm releases (Helm trusts what it reads back). */
const NEVER_MERGED_TYPES = new Set([...FORBIDDEN_TYPES, 'helm.sh/release.v1']);

export function mergeRefusedFor(type: string | undefined): boolean {
  return NEVER_MERGED_TYPES.has(type ?? 'Opaque');
}

export function targetName(es: ExternalSecret): string {
  return es.spec.target?.name ?? es.metadata.name;
}

export function creationPolicy(es: ExternalSecret) {
  return es.spec.target?.creationPolicy ?? 'Owner';
}

export interface ShapedSecret {
  type: string;
  data: Record<string, Uint8Array>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface DesiredSecret {
  body: Secret;
  hash: string;
}

export function secretSize(data: Record<string, Uint8Array>): number {
  let size = 0;
  for (const [k, v] of Object.entries(data)) size += k.length + v.length;
  return size;
}

const VALID_KEY = /^[-._a-zA-Z0-9]+$/;

export function buildDesiredSecret(es: ExternalSecret, shaped: ShapedSecret, hmacKey: HmacKey): DesiredSecret {
  for (const key of Object.keys(shaped.data)) {
    if (!VALID_KEY.test(key) || key.length > 253 || key === '.' || key === '..') {
      throw new SyncError(Reason.InvalidData, `"${key}" is not a valid Secret key (allowed: letters, digits, "-", "_", ".")`, false);
    }
  }
  const size = secretSize(shaped.data);
  if (size > MAX_SECRET_BYTES) {
    throw new SyncError(Reason.SecretTooLarge, `the Secret would be ${size} bytes, over the 1 MiB (${MAX_SECRET_BYTES} bytes) limit`, false);
  }
  if (FORBIDDEN_TYPES.has(shaped.type)) {
    throw new SyncError(Reason.InvalidData, `Secrets of type ${shaped.type} are refused: they would grant access to the cluster itself`, false);
  }
  const policy = creationPolicy(es);
  const hash = dataHash(hmacKey, shaped.type, shaped.data);
  const data = encodeSecretData(shaped.data);

  const body: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: targetName(es),
      namespace: es.metadata.namespace!,
      labels: { ...shaped.labels, [MANAGED_LABEL]: 'true' },
      annotations: { ...shaped.annotations, [HASH_ANNOTATION]: hash, [OWNER_ANNOTATION]: es.metadata.name },
    },
    data,
  };
  // Merge writes only our keys into someone else's Secret; its type is theirs.
  if (policy !== 'Merge') body.type = shaped.type;
  if (es.spec.target?.immutable) body.immutable = true;
  if (policy === 'Owner') {
    body.metadata.ownerReferences = [
      { apiVersion: API_VERSION, kind: 'ExternalSecret', name: es.metadata.name, uid: es.metadata.uid!, controller: true, blockOwnerDeletion: true },
    ];
  }
  return { body, hash };
}

/** True when the existing Secret's metadata already says what the desired one says. */
export function metadataMatches(existing: { labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: Array<{ uid: string }> }, desired: Secret): boolean {
  const same = (want: Record<string, string> | undefined, have: Record<string, string> | undefined) =>
    Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
  if (!same(desired.metadata.labels, existing.labels)) return false;
  if (!same(desired.metadata.annotations, existing.annotations)) return false;
  const owner = desired.metadata.ownerReferences?.[0];
  return !owner || (existing.ownerReferences ?? []).some((r) => r.uid === owner.uid);
}
