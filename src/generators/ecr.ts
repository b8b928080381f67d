// ECRAuthorizationToken: a registry login from ECR GetAuthorizationToken
// (valid 12 hours), with the credentials an aws store would use, from the
// generator's namespace. Output keys as ESO gives them.
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { ECRAuthorizationTokenSpec, SecretStoreSpec } from '../api/generated.js';
import { awsError } from '../providers/aws/client.js';
import { guardedHandler, storeCredentials } from '../providers/aws/credentials.js';
import { text, type GenerateContext, type Generated } from './generator.js';

type AwsSpec = NonNullable<SecretStoreSpec['provider']['aws']>;

export async function generateEcrToken(spec: ECRAuthorizationTokenSpec, ctx: GenerateContext): Promise<Generated> {
  if (spec.scope === 'public') throw new Error('scope public (ECR Public) is not supported yet: use a private registry');
  const aws = { service: 'SecretsManager', region: spec.region, role: spec.role, auth: spec.auth, endpoint: spec.endpoint } as AwsSpec;
  const requestHandler = guardedHandler(ctx.connectGuard);
  const credentials = storeCredentials(aws, ctx.kube, ctx.namespace, `secretsync-ecr-${ctx.namespace}`.slice(0, 64), requestHandler);
  const ecr = new ECRClient({ region: spec.region, endpoint: spec.endpoint, credentials, maxAttempts: 1, requestHandler });
  try {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}), { abortSignal: ctx.signal });
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken) throw new Error('ECR returned no authorization data');
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new Error('ECR returned an authorization token that is not user:password');
    const expiresAt = data.expiresAt ?? new Date(Date.now() + 12 * 3600_000);
    return {
      values: {
        username: text(decoded.slice(0, colon)),
        password: text(decoded.slice(colon + 1)),
        proxy_endpoint: text(data.proxyEndpoint ?? ''),
        expires_at: text(String(Math.floor(expiresAt.getTime() / 1000))),
      },
      expiresAt,
    };
  } catch (err) {
    throw awsError(err, 'ecr:GetAuthorizationToken');
  } finally {
    ecr.destroy();
  }
}
