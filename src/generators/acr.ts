// ACRAccessToken: an Azure Container Registry login. The Entra ID token for
// Azure Resource Manager (from a service principal, workload identity or
// managed identity, as an azurekv store would get it) is exchanged at the
// registry for a refresh token, and that, when a scope is given, for an
// access token: Microsoft's AAD-OAuth flow for ACR.
import { Agent, request } from 'undici';
import type { ACRAccessTokenSpec, SecretStoreSpec } from '../api/generated.js';
import { caBundlePem } from '../providers/ca-bundle.js';
import { readLimited } from '../providers/response-limit.js';
import { storeCredential } from '../providers/azurekv/credentials.js';
import { azureError } from '../providers/azurekv/errors.js';
import { text, type GenerateContext, type Generated } from './generator.js';

type AzureSpec = NonNullable<SecretStoreSpec['provider']['azurekv']>;

/** The username ACR logins with a token use. */
const TOKEN_USER = '00000000-0000-0000-0000-000000000000';
const RESOURCE_MANAGER: Record<string, string> = {
  PublicCloud: 'https://management.core.windows.net/',
  ChinaCloud: 'https://management.core.chinacloudapi.cn/',
  USGovernmentCloud: 'https://management.core.usgovcloudapi.net/',
};
const MAX_ANSWER_BYTES = 64 * 1024;

export async function generateAcrToken(spec: ACRAccessTokenSpec, ctx: GenerateContext): Promise<Generated> {
  const { auth } = spec;
  const azure: AzureSpec = {
    vaultUrl: 'https://unused.vault.azure.net',
    tenantId: spec.tenantId,
    environmentType: spec.environmentType,
    authType: auth.managedIdentity ? 'ManagedIdentity' : auth.workloadIdentity ? 'WorkloadIdentity' : 'ServicePrincipal',
    identityId: auth.managedIdentity?.identityId ?? auth.workloadIdentity?.clientId,
    serviceAccountRef: auth.workloadIdentity?.serviceAccountRef,
    authSecretRef: auth.servicePrincipal ? { clientId: auth.servicePrincipal.secretRef.clientId, clientSecret: auth.servicePrincipal.secretRef.clientSecret } : undefined,
  };
  let aad: string;
  try {
    const credential = await storeCredential(azure, ctx.kube, ctx.namespace);
    const token = await credential.getToken(`${RESOURCE_MANAGER[spec.environmentType ?? 'PublicCloud']}.default`, { abortSignal: ctx.signal });
    if (!token) throw new Error('Entra ID returned no token');
    aad = token.token;
  } catch (err) {
    throw azureError(err, `registry ${spec.registry}`);
  }
  const tls = spec.caBundle ? { ca: caBundlePem(spec.caBundle) } : {};
  // undici's request() follows no redirect; the registry's connections go through the guard.
  const dispatcher = new Agent({ connect: ctx.connectGuard ? ctx.connectGuard.undiciConnect(tls) : tls });
  try {
    const post = async (path: string, form: Record<string, string>, field: string): Promise<string> => {
      const res = await request(`https://${spec.registry}${path}`, {
        method: 'POST', dispatcher, signal: ctx.signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      // Read as a stream cut off at the limit, as provider answers are: a hostile registry cannot make the operator buffer more.
      const text = (await readLimited(res.body, `registry ${spec.registry}${path}`, MAX_ANSWER_BYTES)).toString('utf8');
      let answer: Record<string, unknown> & { errors?: Array<{ message?: string }> };
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        throw new Error(`registry ${spec.registry} answered ${path} with HTTP ${res.statusCode} and no JSON`);
      }
      // Registry messages name applications and scopes, never tokens.
      if (res.statusCode !== 200) throw new Error(`registry ${spec.registry} refused ${path} (HTTP ${res.statusCode}): ${answer.errors?.map((e) => e.message).join('; ') ?? 'no reason given'}`);
      const value = answer[field];
      if (typeof value !== 'string' || !value) throw new Error(`registry ${spec.registry} answered ${path} without ${field}`);
      return value;
    };
    const tenant = spec.tenantId ?? claimsOf(aad).tid ?? '';
    const refresh = await post('/oauth2/exchange', { grant_type: 'access_token', service: spec.registry, tenant, access_token: aad }, 'refresh_token');
    const token = spec.scope
      ? await post('/oauth2/token', { grant_type: 'refresh_token', service: spec.registry, scope: spec.scope, refresh_token: refresh }, 'access_token')
      : refresh;
    const exp = claimsOf(token).exp;
    const expiresAt = typeof exp === 'number' ? new Date(exp * 1000) : undefined;
    return {
      values: { username: text(TOKEN_USER), password: text(token), ...(expiresAt ? { expiry: text(String(Math.floor(expiresAt.getTime() / 1000))) } : {}) },
      expiresAt,
    };
  } finally {
    await dispatcher.close();
  }
}

/** A JWT's claims (ACR and Entra ID tokens are JWTs); empty when it is not one. */
function claimsOf(token: string): { exp?: number; tid?: string } {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: number; tid?: string };
  } catch {
    return {};
  }
}
