// AWS credentials for a store: static keys from a Secret, web identity (a
// ServiceAccount token from TokenRequest exchanged with STS), an optional
// role to assume on top, or the SDK's default chain when nothing is set.
// Temporary credentials are cached until shortly before they expire.
//
// Web identity reads the role the way EKS (IRSA) and External Secrets
// Operator do: from the ServiceAccount's eks.amazonaws.com/role-arn
// annotation, with aws.role then assumed on top of it. A ServiceAccount
// without the annotation uses aws.role as the web identity role.
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { ConnectGuard } from '../connect-guard.js';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountAnnotations, serviceAccountToken, type ServiceAccountRef } from '../credentials.js';
import { StoreConfigError } from '../errors.js';

type AwsSpec = NonNullable<AnyStore['spec']['provider']['aws']>;

const STS_AUDIENCE = 'sts.amazonaws.com';
export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
export const AUDIENCE_ANNOTATION = 'eks.amazonaws.com/audience';
/** Refresh temporary credentials this long before they expire. */
const EARLY_MS = 5 * 60_000;

function fromSts(credentials: Credentials | undefined, what: string): AwsCredentialIdentity {
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) throw new StoreConfigError(`${what} returned no credentials`);
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration: credentials.Expiration,
  };
}

/** Caches what `fetch` returns until shortly before it expires. */
function cached(fetch: () => Promise<AwsCredentialIdentity>): AwsCredentialIdentityProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    const value = current ? await current.catch(() => undefined) : undefined;
    if (value && (!value.expiration || value.expiration.getTime() - Date.now() > EARLY_MS)) return value;
    current = fetch();
    return current;
  };
}

/** The web identity role and token audience a ServiceAccount's EKS annotations name. */
async function webIdentityOf(kube: KubeClient, namespace: string, ref: ServiceAccountRef): Promise<{ role?: string; audiences?: string[] }> {
  const annotations = await serviceAccountAnnotations(kube, namespace, ref, 'aws auth.jwt.serviceAccountRef');
  const audience = annotations[AUDIENCE_ANNOTATION];
  return { role: annotations[ROLE_ARN_ANNOTATION] || undefined, audiences: audience ? [audience] : undefined };
}

/**
 * The SDK's Node HTTP handler with agents whose every connection goes through
 * the guard (undefined: the SDK's own). The SDK follows no redirect.
 */
export function guardedHandler(guard: ConnectGuard | undefined): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined {
  return guard ? { httpAgent: guard.httpAgent(), httpsAgent: guard.httpsAgent() } : undefined;
}

export function storeCredentials(spec: AwsSpec, kube: KubeClient, namespace: string, sessionName: string, requestHandler?: ReturnType<typeof guardedHandler>): AwsCredentialIdentityProvider | undefined {
  const sts = (credentials?: AwsCredentialIdentityProvider) => new STSClient({ region: spec.region, endpoint: spec.endpoint, credentials, maxAttempts: 2, requestHandler });
  let base: AwsCredentialIdentityProvider | undefined;

  if (spec.auth?.secretRef) {
    const ref = spec.auth.secretRef;
    base = cached(async () => ({
      accessKeyId: (await readSecretKey(kube, namespace, ref.accessKeyIDSecretRef, 'aws auth.secretRef.accessKeyIDSecretRef')).trim(),
      secretAccessKey: (await readSecretKey(kube, namespace, ref.secretAccessKeySecretRef, 'aws auth.secretRef.secretAccessKeySecretRef')).trim(),
      sessionToken: ref.sessionTokenSecretRef ? (await readSecretKey(kube, namespace, ref.sessionTokenSecretRef, 'aws auth.secretRef.sessionTokenSecretRef')).trim() : undefined,
      // Re-read the Secret now and then, so rotated keys are picked up.
      expiration: new Date(Date.now() + EARLY_MS + 10 * 60_000),
    }));
  } else if (spec.auth?.jwt) {
    const ref = spec.auth.jwt.serviceAccountRef;
    return cached(async () => {
      const identity = await webIdentityOf(kube, namespace, ref);
      const role = identity.role ?? spec.role;
      if (!role) throw new StoreConfigError(`aws auth.jwt: ServiceAccount "${ref.name}" has no ${ROLE_ARN_ANNOTATION} annotation and spec.provider.aws.role is not set: name the role to assume with the web identity`);
      const { token } = await serviceAccountToken(kube, namespace, { ...ref, audiences: ref.audiences ?? identity.audiences }, [STS_AUDIENCE], 'aws auth.jwt.serviceAccountRef');
      const out = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: sessionName, WebIdentityToken: token }));
      const web = fromSts(out.Credentials, 'AssumeRoleWithWebIdentity');
      if (!identity.role || !spec.role) return web;
      // aws.role on top of the annotation's role.
      const chained = await sts(() => Promise.resolve(web)).send(new AssumeRoleCommand({ RoleArn: spec.role, RoleSessionName: sessionName }));
      return fromSts(chained.Credentials, 'AssumeRole');
    });
  }

  if (!spec.role) return base; // undefined: the SDK's default chain
  const role = spec.role;
  const client = sts(base);
  return cached(async () => {
    const out = await client.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: sessionName }));
    return fromSts(out.Credentials, 'AssumeRole');
  });
}
