// The Entra ID credential for a store: a service principal (client secret or
// certificate from a Secret), workload identity (a ServiceAccount token the
// operator mints itself with TokenRequest and exchanges as a client
// assertion, so one Pod serves every namespace's identity without projected
// volumes), or the node's managed identity through IMDS.
import type { TokenCredential } from '@azure/core-auth';
import { ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountAnnotations, serviceAccountToken } from '../credentials.js';
import { StoreConfigError } from '../errors.js';
import { authorityHost, isKnownAuthority } from './cloud.js';

type AzureSpec = NonNullable<AnyStore['spec']['provider']['azurekv']>;

export const WORKLOAD_AUDIENCE = 'api://AzureADTokenExchange';
export const CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
export const TENANT_ID_ANNOTATION = 'azure.workload.identity/tenant-id';

/** What a store's spec is missing, before anything is read (mirrors the CRD's rules for older API servers). */
export function specProblems(spec: AzureSpec): string[] {
  const problems: string[] = [];
  const type = spec.authType ?? 'ServicePrincipal';
  if (type === 'ServicePrincipal') {
    if (!spec.tenantId) problems.push('azurekv ServicePrincipal needs tenantId');
    if (!spec.authSecretRef?.clientId) problems.push('azurekv ServicePrincipal needs authSecretRef.clientId');
    if (!spec.authSecretRef?.clientSecret === !spec.authSecretRef?.clientCertificate) problems.push('azurekv ServicePrincipal needs exactly one of authSecretRef.clientSecret or authSecretRef.clientCertificate');
  }
  if (type === 'WorkloadIdentity' && !spec.serviceAccountRef) problems.push('azurekv WorkloadIdentity needs serviceAccountRef');
  return problems;
}

export async function storeCredential(spec: AzureSpec, kube: KubeClient, namespace: string): Promise<TokenCredential> {
  const host = authorityHost(spec.environmentType);
  const common = { authorityHost: host, disableInstanceDiscovery: !isKnownAuthority(host) };
  const type = spec.authType ?? 'ServicePrincipal';

  if (type === 'ManagedIdentity') {
    const id = spec.identityId;
    // An ARM resource id names a user-assigned identity by resource, anything else by client id.
    if (!id) return new ManagedIdentityCredential();
    return id.startsWith('/') ? new ManagedIdentityCredential({ resourceId: id }) : new ManagedIdentityCredential({ clientId: id });
  }

  if (type === 'WorkloadIdentity') {
    const ref = spec.serviceAccountRef!;
    const what = 'azurekv serviceAccountRef';
    const annotations = await serviceAccountAnnotations(kube, namespace, ref, what);
    const clientId = spec.authSecretRef?.clientId
      ? (await readSecretKey(kube, namespace, spec.authSecretRef.clientId, 'azurekv authSecretRef.clientId')).trim()
      : spec.identityId ?? annotations[CLIENT_ID_ANNOTATION];
    const tenantId = spec.tenantId ?? annotations[TENANT_ID_ANNOTATION];
    if (!clientId) throw new StoreConfigError(`${what}: no client id: set identityId, or annotate ServiceAccount "${ref.name}" with ${CLIENT_ID_ANNOTATION}`);
    if (!tenantId) throw new StoreConfigError(`${what}: no tenant id: set tenantId, or annotate ServiceAccount "${ref.name}" with ${TENANT_ID_ANNOTATION}`);
    // MSAL caches the access token; a fresh ServiceAccount token is minted only when it asks for one.
    const assertion = async () => (await serviceAccountToken(kube, namespace, ref, [WORKLOAD_AUDIENCE], what)).token;
    return new ClientAssertionCredential(tenantId, clientId, assertion, common);
  }

  const ref = spec.authSecretRef!;
  const tenantId = spec.tenantId!;
  const clientId = (await readSecretKey(kube, namespace, ref.clientId!, 'azurekv authSecretRef.clientId')).trim();
  if (ref.clientCertificate) {
    const pem = await readSecretKey(kube, namespace, ref.clientCertificate, 'azurekv authSecretRef.clientCertificate');
    if (!pem.includes('PRIVATE KEY-----') || !pem.includes('BEGIN CERTIFICATE')) {
      throw new StoreConfigError('azurekv authSecretRef.clientCertificate must be a PEM holding the certificate and its private key');
    }
    return new ClientCertificateCredential(tenantId, clientId, { certificate: pem }, common);
  }
  const secret = (await readSecretKey(kube, namespace, ref.clientSecret!, 'azurekv authSecretRef.clientSecret')).trim();
  return new ClientSecretCredential(tenantId, clientId, secret, common);
}

