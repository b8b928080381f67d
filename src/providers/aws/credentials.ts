// AWS credentials for a store: static keys from a Secret, web identity (a
// ServiceAccount token from TokenRequest exchanged with STS), an optional
// role to assume on top, or the SDK's default chain when nothing is set.
// Temporary credentials are cached until shortly before they expire.
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient, type Credentials } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountToken } from '../credentials.js';
import { StoreConfigError } from '../errors.js';

type AwsSpec = NonNullable<AnyStore['spec']['provider']['aws']>;

const STS_AUDIENCE = 'sts.amazonaws.com';
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

export function storeCredentials(spec: AwsSpec, kube: KubeClient, namespace: string, sessionName: string): AwsCredentialIdentityProvider | undefined {
  const sts = (credentials?: AwsCredentialIdentityProvider) => new STSClient({ region: spec.region, endpoint: spec.endpoint, credentials, maxAttempts: 2 });
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
    if (!spec.role) throw new StoreConfigError('aws auth.jwt needs spec.provider.aws.role (the role to assume with the web identity)');
    const ref = spec.auth.jwt.serviceAccountRef;
    const role = spec.role;
    // The web identity is the role: no second assume below.
    return cached(async () => {
      const { token } = await serviceAccountToken(kube, namespace, ref, [STS_AUDIENCE], 'aws auth.jwt.serviceAccountRef');
      const out = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role, RoleSessionName: sessionName, WebIdentityToken: token }));
      return fromSts(out.Credentials, 'AssumeRoleWithWebIdentity');
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
