// Google credentials for a store: a service account key from a Secret (sent
// as self-signed JWTs, so no token round trip), workload identity (a
// ServiceAccount token the operator mints itself with TokenRequest,
// exchanged at the Security Token Service, then, for a ServiceAccount
// annotated iam.gke.io/gcp-service-account, for that Google service
// account's token through IAM Credentials), or the Pod's Application Default
// Credentials. google-auth-library caches each store's tokens and renews
// them before they expire.
import { IdentityPoolClient, JWT, type AuthClient } from 'google-auth-library';
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountAnnotations, serviceAccountToken } from '../credentials.js';
import { StoreConfigError } from '../errors.js';

type GcpSpec = NonNullable<AnyStore['spec']['provider']['gcpsm']>;

export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
export const GSA_ANNOTATION = 'iam.gke.io/gcp-service-account';

/**
 * Token service base URLs: Google's, or a Private Service Connect endpoint
 * the operator is given (GCP_STS_ENDPOINT, GCP_IAM_CREDENTIALS_ENDPOINT).
 */
const stsEndpoint = () => process.env.GCP_STS_ENDPOINT || 'https://sts.googleapis.com';
const iamCredentialsEndpoint = () => process.env.GCP_IAM_CREDENTIALS_ENDPOINT || 'https://iamcredentials.googleapis.com';

interface ServiceAccountKey {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
}

/**
 * The store's credentials. A service account key signs its own access
 * tokens (no token endpoint call) unless `oauthToken` asks for a real OAuth
 * token (a registry login needs one).
 */
export async function storeAuth(spec: GcpSpec, kube: KubeClient, namespace: string, oauthToken = false): Promise<AuthClient | undefined> {
  if (spec.auth?.secretRef) {
    const text = await readSecretKey(kube, namespace, spec.auth.secretRef.secretAccessKeySecretRef, 'gcpsm auth.secretRef.secretAccessKeySecretRef');
    let key: ServiceAccountKey;
    try {
      key = JSON.parse(text) as ServiceAccountKey;
    } catch {
      throw new StoreConfigError('gcpsm auth.secretRef.secretAccessKeySecretRef is not a service account key (not JSON)');
    }
    if (key.type !== 'service_account' || !key.client_email || !key.private_key) {
      throw new StoreConfigError('gcpsm auth.secretRef.secretAccessKeySecretRef is not a service account key (needs type service_account, client_email, private_key)');
    }
    const jwt = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: [CLOUD_PLATFORM] });
    jwt.useJWTAccessWithScope = !oauthToken;
    return jwt;
  }
  if (spec.auth?.workloadIdentity) return workloadIdentity(spec, spec.auth.workloadIdentity, kube, namespace);
  return undefined; // Application Default Credentials
}

type WorkloadIdentitySpec = NonNullable<NonNullable<GcpSpec['auth']>['workloadIdentity']>;

/** The STS audience and the audience of the ServiceAccount token it accepts. */
export function workloadAudiences(spec: GcpSpec, wi: WorkloadIdentitySpec): { sts: string; token: string } {
  if (wi.audience) return { sts: wi.audience, token: `https:${wi.audience}` };
  if (!wi.clusterLocation || !wi.clusterName) throw new StoreConfigError('gcpsm workloadIdentity needs audience, or clusterLocation and clusterName');
  const project = wi.clusterProjectID ?? spec.projectID;
  return {
    sts: `identitynamespace:${project}.svc.id.goog:https://container.googleapis.com/v1/projects/${project}/locations/${wi.clusterLocation}/clusters/${wi.clusterName}`,
    token: `${project}.svc.id.goog`,
  };
}

async function workloadIdentity(spec: GcpSpec, wi: WorkloadIdentitySpec, kube: KubeClient, namespace: string): Promise<AuthClient> {
  const what = 'gcpsm auth.workloadIdentity.serviceAccountRef';
  const ref = wi.serviceAccountRef;
  const audiences = workloadAudiences(spec, wi);
  const gsa = (await serviceAccountAnnotations(kube, namespace, ref, what))[GSA_ANNOTATION];
  return new IdentityPoolClient({
    type: 'external_account',
    audience: audiences.sts,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${stsEndpoint()}/v1/token`,
    service_account_impersonation_url: gsa ? `${iamCredentialsEndpoint()}/v1/projects/-/serviceAccounts/${encodeURIComponent(gsa)}:generateAccessToken` : undefined,
    subject_token_supplier: {
      getSubjectToken: async () => (await serviceAccountToken(kube, namespace, ref, [audiences.token], what)).token,
    },
    scopes: [CLOUD_PLATFORM],
  });
}
