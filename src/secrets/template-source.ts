// A templateFrom source (ConfigMap or Secret) as bytes per key, read from the
// ExternalSecret's own namespace through whatever holds the objects: the API
// server for the operator, files or a cluster for `secretsync render`.
import { Reason } from '../api/reasons.js';
import { Resources, type KubeObject, type ResourceType } from '../kube/types.js';
import { decodeSecretData } from './data-hash.js';
import { SyncError } from './sync-error.js';

type SourceObject = KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> };
export type ObjectReader = (type: ResourceType, namespace: string, name: string) => Promise<SourceObject | undefined>;

export async function readTemplateSource(read: ObjectReader, namespace: string, kind: 'ConfigMap' | 'Secret', name: string): Promise<Record<string, Uint8Array>> {
  const obj = await read(kind === 'ConfigMap' ? Resources.ConfigMap : Resources.Secret, namespace, name);
  if (!obj) throw new SyncError(Reason.TemplateError, `templateFrom: ${kind} "${name}" not found in namespace "${namespace}"`, true);
  if (kind === 'Secret') return decodeSecretData(obj.data);
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}
