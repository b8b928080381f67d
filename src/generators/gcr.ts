// GCRAccessToken: a Google OAuth access token for Artifact Registry and
// Container Registry logins (username oauth2accesstoken), with the
// credentials a gcpsm store would use, from the generator's namespace.
import { GoogleAuth } from 'google-auth-library';
import type { GCRAccessTokenSpec, SecretStoreSpec } from '../api/generated.js';
import { CLOUD_PLATFORM, storeAuth } from '../providers/gcpsm/credentials.js';
import { googleError } from '../providers/gcpsm/errors.js';
import { text, type GenerateContext, type Generated } from './generator.js';

type GcpSpec = NonNullable<SecretStoreSpec['provider']['gcpsm']>;

export async function generateGcrToken(spec: GCRAccessTokenSpec, ctx: GenerateContext): Promise<Generated> {
  const gcp = { projectID: spec.projectID, auth: spec.auth } as GcpSpec;
  try {
    const client = (await storeAuth(gcp, ctx.kube, ctx.namespace, true)) ?? (await new GoogleAuth({ scopes: [CLOUD_PLATFORM] }).getClient());
    const { token } = await client.getAccessToken();
    if (!token) throw new Error('Google returned no access token');
    const expiry = client.credentials.expiry_date ?? Date.now() + 3600_000;
    return {
      values: { username: text('oauth2accesstoken'), password: text(token), expiry: text(String(Math.floor(expiry / 1000))) },
      expiresAt: new Date(expiry),
    };
  } catch (err) {
    throw googleError(err, 'access token');
  }
}
