// External Secrets Operator's marks on the Secrets it writes (its v1 API,
// apis/externalsecrets/v1 and pkg/controllers/externalsecret in its source):
// what an in-place cutover recognises, strips and takes over.
import type { KubeObject, OwnerReference } from '../kube/types.js';

export const ESO_GROUP = 'external-secrets.io';
/** On every Secret ESO writes: "true". Its Secret watch selects on it. */
export const ESO_MANAGED_LABEL = 'reconcile.external-secrets.io/managed';
/** With creationPolicy Owner: a hash of the owning ExternalSecret's namespace/name. */
export const ESO_CREATED_BY_LABEL = 'reconcile.external-secrets.io/created-by';
/** ESO's hash of the Secret's data. */
export const ESO_DATA_HASH_ANNOTATION = 'reconcile.external-secrets.io/data-hash';
/** ESO's field manager: `externalsecrets.external-secrets.io/<name>` (or `/sha3/<hash>` for long names). */
export const ESO_FIELD_MANAGER_PREFIX = 'externalsecrets.external-secrets.io/';
/** On every ESO v2 ExternalSecret; only a running ESO removes it. */
export const ESO_FINALIZER = 'externalsecrets.external-secrets.io/externalsecret-cleanup';

/** An ownerReference to one of ESO's ExternalSecrets (any version of its group). */
export function isEsoOwnerRef(ref: OwnerReference): boolean {
  return ref.kind === 'ExternalSecret' && ref.apiVersion.split('/')[0] === ESO_GROUP;
}

/** What ESO left on a Secret: its label, and its ExternalSecrets among the owners. */
export interface EsoMarks {
  /** The Secret carries `reconcile.external-secrets.io/managed: "true"`. */
  labeled: boolean;
  /** ownerReferences to ESO ExternalSecrets (creationPolicy Owner). */
  owners: OwnerReference[];
  /** A controlling owner that is not an ESO ExternalSecret (never taken over from). */
  foreignController?: OwnerReference;
}

export function esoMarks(obj: KubeObject): EsoMarks {
  const refs = obj.metadata.ownerReferences ?? [];
  return {
    labeled: obj.metadata.labels?.[ESO_MANAGED_LABEL] === 'true',
    owners: refs.filter(isEsoOwnerRef),
    foreignController: refs.find((r) => r.controller === true && !isEsoOwnerRef(r)),
  };
}

/** ESO wrote or writes this Secret: its label, or one of its ExternalSecrets as an owner. */
export function carriesEsoMarks(obj: KubeObject): boolean {
  const marks = esoMarks(obj);
  return marks.labeled || marks.owners.length > 0;
}

export function isEsoFieldManager(manager: string | undefined): boolean {
  return manager?.startsWith(ESO_FIELD_MANAGER_PREFIX) === true;
}

/** ESO's ExternalSecret, as the cutover's `release-eso` reads and releases it. */
export const ESO_EXTERNAL_SECRET = { group: ESO_GROUP, version: 'v1', plural: 'externalsecrets', kind: 'ExternalSecret', namespaced: true } as const;

/** ESO's ClusterExternalSecret (cluster-scoped); it owns the ExternalSecrets it makes. */
export const ESO_CLUSTER_EXTERNAL_SECRET = { group: ESO_GROUP, version: 'v1', plural: 'clusterexternalsecrets', kind: 'ClusterExternalSecret', namespaced: false } as const;
/** On an ESO v2 ClusterExternalSecret; only a running ESO removes it. */
export const ESO_CES_FINALIZER = 'externalsecrets.external-secrets.io/clusterexternalsecret-cleanup';
/** On each Namespace an ESO v2 ClusterExternalSecret provisions: it blocks the namespace's deletion until ESO removes it. */
export const esoNamespaceFinalizer = (ces: string) => `externalsecrets.external-secrets.io/ces-${ces}`;
