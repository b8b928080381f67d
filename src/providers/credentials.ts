// The credentials a store references: where they may come from, which ones a
// store spec names, and reading them. The namespace rule lives here and only
// here: a SecretStore uses its own namespace for every reference; a
// ClusterSecretStore must name one.
import type { AnyStore, ProviderSpec, SecretKeySelector } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import { Resources, type KubeObject, type Secret } from '../kube/types.js';
import { errorMessage } from '../util/errors.js';
import { StoreConfigError } from './errors.js';

export interface ServiceAccountRef {
  name: string;
  namespace?: string;
  audiences?: string[];
}

/** A reference in a provider spec: a Secret (key selector, or a whole one), a ServiceAccount, or a caProvider's ConfigMap. */
export interface Reference {
  /** Where it is in the spec, e.g. "spec.provider.vault.auth.tokenSecretRef". */
  path: string;
  kind: 'Secret' | 'ServiceAccount' | 'ConfigMap';
  name: string;
  namespace?: string;
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

/**
 * Every reference in a provider spec, whatever the provider: any object with
 * a string `name` is one (the schemas use that shape for Secret key
 * selectors, whole Secrets (a `secretRef`), caProviders and ServiceAccount
 * references, and for nothing else).
 */
export function providerReferences(spec: ProviderSpec): Reference[] {
  const out: Reference[] = [];
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    const record = node as Record<string, unknown>;
    if (typeof record.name === 'string') {
      out.push({ path, kind: referenceKind(record, path), name: record.name, namespace: typeof record.namespace === 'string' ? record.namespace : undefined });
      return;
    }
    for (const [k, v] of Object.entries(record)) walk(v, `${path}.${k}`);
  };
  walk(spec, 'spec.provider');
  return out;
}

function referenceKind(record: Record<string, unknown>, path: string): Reference['kind'] {
  if (record.type === 'ConfigMap') return 'ConfigMap';
  return typeof record.key === 'string' || path.endsWith('.secretRef') ? 'Secret' : 'ServiceAccount';
}

/** Problems with where the store's references point (the namespace rule, checked before any read). */
export function referenceProblems(store: AnyStore): string[] {
  const problems: string[] = [];
  for (const ref of providerReferences(store.spec.provider)) {
    try {
      refNamespace(store.metadata.namespace ?? '', ref, ref.path);
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }
  return problems;
}

/** The Secrets (namespace/name) a store reads credentials from; a change to any must renew its client. */
export function credentialSecrets(store: AnyStore): string[] {
  const keys = new Set<string>();
  for (const ref of providerReferences(store.spec.provider)) {
    if (ref.kind !== 'Secret') continue;
    try {
      keys.add(`${refNamespace(store.metadata.namespace ?? '', ref, ref.path)}/${ref.name}`);
    } catch {
      // Refused by referenceProblems; never read.
    }
  }
  return [...keys];
}

export async function readSecretKey(kube: KubeClient, storeNamespace: string, ref: SecretKeySelector, what: string): Promise<string> {
  const namespace = refNamespace(storeNamespace, ref, what);
  let secret: Secret | undefined;
  try {
    secret = await kube.getOrUndefined<Secret>(Resources.Secret, namespace, ref.name);
  } catch (err) {
    throw new Error(`${what}: reading Secret "${namespace}/${ref.name}" failed: ${errorMessage(err)}`, { cause: err });
  }
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
  let minted: { token: string; expiresAt: Date };
  try {
    minted = await kube.createToken(namespace, ref.name, audiences);
  } catch (err) {
    throw new StoreConfigError(`${what}: could not get a token for ServiceAccount "${namespace}/${ref.name}": ${(err as Error).message}`);
  }
  // Audiences chosen in the store could name the API server's own: the token would then let
  // whoever runs the store's server act as this ServiceAccount in the cluster. Asked of the
  // API server itself, so any --api-audiences setting is covered.
  if (!ref.audiences?.length) return minted;
  let accepted: boolean;
  try {
    accepted = await kube.acceptsToken(minted.token);
  } catch (err) {
    // Unchecked is refused (an install whose RBAC lacks TokenReviews: the chart grants them, even namespace-scoped).
    throw new StoreConfigError(`${what}: audiences chosen in the store need a TokenReview to prove the API server refuses them, which failed: ${errorMessage(err)}`);
  }
  if (accepted) {
    throw new StoreConfigError(`${what}: audiences ${JSON.stringify(ref.audiences)} include one the Kubernetes API server accepts; a token for it is never sent to a provider`);
  }
  return minted;
}

/** The annotations of the ServiceAccount `ref` names (workload identity reads its role or client id there). */
export async function serviceAccountAnnotations(kube: KubeClient, storeNamespace: string, ref: { name: string; namespace?: string }, what: string): Promise<Record<string, string>> {
  const namespace = refNamespace(storeNamespace, ref, what);
  let sa: KubeObject | undefined;
  try {
    sa = await kube.getOrUndefined<KubeObject>(Resources.ServiceAccount, namespace, ref.name);
  } catch (err) {
    throw new StoreConfigError(`${what}: reading ServiceAccount "${namespace}/${ref.name}" failed: ${errorMessage(err)}`);
  }
  if (!sa) throw new StoreConfigError(`${what}: ServiceAccount "${ref.name}" not found in namespace "${namespace}"`);
  return sa.metadata.annotations ?? {};
}
