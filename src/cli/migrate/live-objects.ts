// Objects exported from a running cluster (`kubectl get ... -o yaml`): a
// `kind: List` of items, each with what the API server and ESO added (status,
// uid, resourceVersion, managedFields, ESO's finalizer). migrate takes them as
// one document per item, without those fields, so what it writes can be
// applied as it is; an ExternalSecret that ESO's ClusterExternalSecret made is
// left out, as the ClusterExternalSecret's own conversion makes it again.
import { isMap, isSeq, parseDocument, stringify, type Document } from 'yaml';
import { ESO_GROUP } from '../../api/eso.js';
import { asText } from '../manifests.js';

/** Set by the API server, never applied back. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** ESO's finalizers: externalsecrets.external-secrets.io/externalsecret-cleanup, secretstore.externalsecrets.io/finalizer, ... */
const ESO_FINALIZERS = /^(?:[a-z0-9-]+\.)*external-?secrets\.io\//;

/** The items of a `kind: List` document (kubectl's output for more than one object), or undefined for any other document. */
export function listItems(doc: Document): Document[] | undefined {
  if (asText(doc.getIn(['kind'])) !== 'List' || asText(doc.getIn(['apiVersion'])) !== 'v1') return undefined;
  const items = doc.get('items', true);
  if (items !== undefined && items !== null && !isSeq(items)) return undefined;
  return (isSeq(items) ? items.items : []).filter(isMap).map((item) => parseDocument(stringify(item.toJSON())));
}

/** The ClusterExternalSecret of ESO's that made this ExternalSecret, if one did. */
export function madeByClusterExternalSecret(doc: Document): string | undefined {
  const refs = doc.getIn(['metadata', 'ownerReferences']);
  if (!isSeq(refs)) return undefined;
  for (const ref of refs.items) {
    if (!isMap(ref)) continue;
    const group = asText(ref.get('apiVersion')).split('/')[0];
    if (group === ESO_GROUP && asText(ref.get('kind')) === 'ClusterExternalSecret') return asText(ref.get('name'));
  }
  return undefined;
}

/**
 * Removes what a live object carries and a manifest does not: status, the
 * server's metadata, kubectl's last-applied copy, and ESO's finalizers (on a
 * secretsync object only ESO could remove them, and ESO is being retired).
 * Says whether anything was removed.
 */
export function removeServerFields(doc: Document): boolean {
  let removed = false;
  const drop = (path: Array<string | number>) => {
    if (doc.hasIn(path)) {
      doc.deleteIn(path);
      removed = true;
    }
  };
  drop(['status']);
  for (const field of SERVER_METADATA) drop(['metadata', field]);
  drop(['metadata', 'annotations', LAST_APPLIED]);
  if (isMap(doc.getIn(['metadata', 'annotations'])) && (doc.getIn(['metadata', 'annotations']) as { items: unknown[] }).items.length === 0) drop(['metadata', 'annotations']);
  const finalizers = doc.getIn(['metadata', 'finalizers']);
  if (isSeq(finalizers)) {
    const kept = finalizers.items.filter((f) => !ESO_FINALIZERS.test(asText((f as { value?: unknown }).value ?? f)));
    if (kept.length !== finalizers.items.length) {
      removed = true;
      if (kept.length === 0) doc.deleteIn(['metadata', 'finalizers']);
      else finalizers.items = kept;
    }
  }
  return removed;
}
