// What the Secrets Store CSI driver tells a provider about one mount: the
// SecretProviderClass's parameters, plus the keys the driver adds (the Pod's
// name, namespace and ServiceAccount, and with the CSIDriver's tokenRequests
// the Pod's own ServiceAccount tokens by audience). Our parameters name an
// ExternalSecret in the Pod's namespace, or a store and a list of remote refs.
import { parse as parseYaml } from 'yaml';
import type { RemoteRef } from '../api/types.js';
import { StoreConfigError } from '../providers/errors.js';

export interface PodToken {
  token: string;
  expirationTimestamp: string;
}

/** One remote value for the simple case: a file named `path` (default: the key's last part). */
export interface MountObject extends RemoteRef {
  path?: string;
}

export interface MountParams {
  podName: string;
  podNamespace: string;
  serviceAccount: string;
  /** audience -> the Pod's token (empty without the CSIDriver's tokenRequests). */
  tokens: Record<string, PodToken>;
  /** File mode for every file (the driver's filePermission), as a number. */
  mode: number;
  source: { externalSecret: string } | { store: string; storeKind: 'SecretStore' | 'ClusterSecretStore'; objects: MountObject[] };
}

const POD_NAME = 'csi.storage.k8s.io/pod.name';
const POD_NAMESPACE = 'csi.storage.k8s.io/pod.namespace';
const SERVICE_ACCOUNT = 'csi.storage.k8s.io/serviceAccount.name';
const TOKENS = 'csi.storage.k8s.io/serviceAccount.tokens';

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new StoreConfigError(`${what} is not JSON`);
  }
}

/** The mount's parameters from MountRequest.attributes (JSON) and .permission (a decimal mode, as the driver sends it). */
export function parseMount(attributes: string, permission: string): MountParams {
  const attrs = parseJson<Record<string, string>>(attributes, 'the mount attributes');
  const podNamespace = attrs[POD_NAMESPACE];
  const podName = attrs[POD_NAME];
  if (!podNamespace || !podName) throw new StoreConfigError('the driver sent no Pod name or namespace: is podInfoOnMount set on the CSIDriver?');
  const tokens = attrs[TOKENS] ? parseJson<Record<string, PodToken>>(attrs[TOKENS], TOKENS) : {};
  const mode = permission ? Number.parseInt(permission, 10) : 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new StoreConfigError(`file permission "${permission}" is not a mode`);
  const common = { podName, podNamespace, serviceAccount: attrs[SERVICE_ACCOUNT] ?? '', tokens, mode };
  if (attrs.externalSecret) {
    if (attrs.store || attrs.objects) throw new StoreConfigError('parameters: externalSecret cannot be combined with store and objects');
    return { ...common, source: { externalSecret: attrs.externalSecret } };
  }
  if (!attrs.store || !attrs.objects) throw new StoreConfigError('parameters: name an ExternalSecret (externalSecret), or a store (store, storeKind) and objects');
  const storeKind = attrs.storeKind ?? 'SecretStore';
  if (storeKind !== 'SecretStore' && storeKind !== 'ClusterSecretStore') throw new StoreConfigError(`parameters.storeKind "${storeKind}" is neither SecretStore nor ClusterSecretStore`);
  return { ...common, source: { store: attrs.store, storeKind, objects: parseObjects(attrs.objects) } };
}

/** parameters.objects: a YAML list of remote refs (key, property, version, decodingStrategy) with an optional file path. */
function parseObjects(text: string): MountObject[] {
  let list: unknown;
  try {
    list = parseYaml(text);
  } catch {
    throw new StoreConfigError('parameters.objects is not YAML');
  }
  if (!Array.isArray(list) || list.length === 0) throw new StoreConfigError('parameters.objects must be a non-empty list');
  return list.map((item, i) => {
    const o = item as Partial<MountObject> | null;
    if (!o || typeof o.key !== 'string' || !o.key) throw new StoreConfigError(`parameters.objects[${i}] needs a key`);
    return { key: o.key, property: o.property, version: o.version, decodingStrategy: o.decodingStrategy, path: o.path };
  });
}
