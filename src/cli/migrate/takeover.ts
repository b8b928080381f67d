// The annotation that lets a converted object take over, in place, what
// External Secrets Operator wrote for it: an ExternalSecret's Secret, a
// PushSecret's remote secrets. migrate adds it wherever ESO's own behaviour
// would go on writing them, so the converted manifest means what it meant.
import { ADOPT_ESO_ANNOTATION } from '../../api/names.js';
import { asText } from '../manifests.js';
import type { Converter, Path } from './converter.js';

const DOC = 'docs/migrating-from-eso.md';

/** The Secret ESO wrote for an ExternalSecret (or each one of a ClusterExternalSecret), with creationPolicy Owner or Orphan. */
export function adoptSecrets(c: Converter, metadata: Path, spec: Path): void {
  // Merge and None never own the Secret: there is nothing to take over.
  const policy = asText(c.get([...spec, 'target', 'creationPolicy'])) || 'Owner';
  if (policy !== 'Owner' && policy !== 'Orphan') return;
  annotate(c, metadata, `added: the Secret External Secrets Operator wrote for this ExternalSecret is taken over in place (same object, data unchanged, ESO's marks and ownerReference removed) at the first sync; remove it to have that Secret refused instead (${DOC})`);
}

/** The remote secrets ESO pushed for a PushSecret: its Replace overwrites what ESO pushed, so taking them over keeps that meaning. */
export function adoptPushedSecrets(c: Converter): void {
  annotate(c, ['metadata'], 'added: the remote secrets External Secrets Operator pushed (managed-by: external-secrets) are taken over at the first push and owned by this PushSecret from then on; remove it to have them refused instead');
}

function annotate(c: Converter, metadata: Path, warning: string): void {
  const at = [...metadata, 'annotations', ADOPT_ESO_ANNOTATION];
  c.doc.setIn(at, 'true');
  c.warn(at, warning);
}
