// A store's CA: caBundle as users paste it (PEM, or PEM encoded in base64),
// or a caProvider naming a key of a Secret or ConfigMap, read under the
// operator's namespace rule (a SecretStore's own namespace).
import type { KubeClient } from '../kube/client.js';
import { Resources, type KubeObject } from '../kube/types.js';
import { errorMessage } from '../util/errors.js';
import { refNamespace } from './credentials.js';
import { StoreConfigError } from './errors.js';

export function caBundlePem(caBundle: string): string {
  if (caBundle.includes('-----BEGIN')) return caBundle;
  const decoded = Buffer.from(caBundle, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) throw new Error('caBundle is neither PEM nor base64-encoded PEM');
  return decoded;
}

/** What a store's caBundle has wrong, for its provider's validateStore ([] when absent or fine). */
export function caBundleProblems(provider: string, caBundle: string | undefined): string[] {
  if (!caBundle) return [];
  try {
    caBundlePem(caBundle);
    return [];
  } catch (err) {
    return [`${provider}.${(err as Error).message}`];
  }
}

export interface CaProvider {
  type: 'Secret' | 'ConfigMap';
  name: string;
  key: string;
  namespace?: string;
}

/** The PEM a store's caBundle or caProvider gives; undefined when it names neither. */
export async function storeCaPem(kube: KubeClient, storeNamespace: string, spec: { caBundle?: string; caProvider?: CaProvider }, what: string): Promise<string | undefined> {
  if (spec.caBundle) return caBundlePem(spec.caBundle);
  const ref = spec.caProvider;
  if (!ref) return undefined;
  const namespace = refNamespace(storeNamespace, ref, `${what}.caProvider`);
  let object: (KubeObject & { data?: Record<string, string> }) | undefined;
  try {
    object = await kube.getOrUndefined(ref.type === 'Secret' ? Resources.Secret : Resources.ConfigMap, namespace, ref.name);
  } catch (err) {
    throw new Error(`${what}.caProvider: reading ${ref.type} "${namespace}/${ref.name}" failed: ${errorMessage(err)}`, { cause: err });
  }
  if (!object) throw new StoreConfigError(`${what}.caProvider: ${ref.type} "${ref.name}" not found in namespace "${namespace}"`);
  const value = object.data?.[ref.key];
  if (value === undefined) throw new StoreConfigError(`${what}.caProvider: ${ref.type} "${ref.name}" has no key "${ref.key}"`);
  const pem = ref.type === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new StoreConfigError(`${what}.caProvider: key "${ref.key}" of ${ref.type} "${ref.name}" holds no PEM certificate`);
  return pem;
}
