// Reads the credentials a store references. A SecretStore reads only from
// its own namespace; a ClusterSecretStore must name the namespace.
import type { SecretKeySelector } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { Resources, type Secret } from '../kube/types.js';
import { StoreConfigError } from './errors.js';

export interface ServiceAccountRef {
  name: string;
  namespace?: string;
  audiences?: string[];
}

/** The namespace a reference resolves in, or a clear error. */
export function refNamespace(storeNamespace: string, ref: { namespace?: string }, what: string): string {
  if (storeNamespace) {
    if (ref.namespace && ref.namespace !== storeNamespace) {
      throw new StoreConfigError(`${what} may not point to namespace "${ref.namespace}": a SecretStore uses its own namespace`);
    }
    return storeNamespace;
  }
  if (!ref.namespace) throw new StoreConfigError(`${what} needs a namespace in a ClusterSecretStore`);
  return ref.namespace;
}

export async function readSecretKey(kube: KubeClient, storeNamespace: string, ref: SecretKeySelector, what: string): Promise<string> {
  const namespace = refNamespace(storeNamespace, ref, what);
  const secret = await kube.getOrUndefined<Secret>(Resources.Secret, namespace, ref.name);
  if (!secret) throw new StoreConfigError(`${what}: Secret "${ref.name}" not found in namespace "${namespace}"`);
  const value = secret.data?.[ref.key];
  if (value === undefined) throw new StoreConfigError(`${what}: Secret "${ref.name}" has no key "${ref.key}"`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** A short-lived ServiceAccount token from the TokenRequest API. */
export async function serviceAccountToken(
  kube: KubeClient,
  storeNamespace: string,
  ref: ServiceAccountRef,
  defaultAudiences: string[],
  what: string,
): Promise<{ token: string; expiresAt: Date }> {
  const namespace = refNamespace(storeNamespace, ref, what);
  const audiences = ref.audiences?.length ? ref.audiences : defaultAudiences;
  try {
    return await kube.createToken(namespace, ref.name, audiences);
  } catch (err) {
    throw new StoreConfigError(`${what}: could not get a token for ServiceAccount "${namespace}/${ref.name}": ${(err as Error).message}`);
  }
}
