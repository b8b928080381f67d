// A test Microsoft Entra ID token service, written from the Microsoft
// identity platform's published protocol (OAuth 2.0 client credentials flow,
// v2.0 endpoints, certificate and federated client assertions) and the Azure
// Instance Metadata Service's token endpoint. It really checks what it is
// given: client secrets, certificate-signed assertions (x5t thumbprint and
// signature), and for workload identity a ServiceAccount JWT from the test
// kube-apiserver (signature against the apiserver's published keys, issuer,
// subject, audience, expiry). It issues RS256 access tokens that the test
// Key Vault verifies.
//
// Where MSAL's real behaviour and the reference differ, MSAL wins:
// - With an authority host that is not a public Azure cloud, MSAL reads
//   `{authority}/v2.0/.well-known/openid-configuration` (no instance
//   discovery once the client disables it) and needs `authorization_endpoint`,
//   `token_endpoint`, `issuer` and `jwks_uri` in it.
// - MSAL turns the IMDS scope into `resource` without `/.default`, and asks
//   for `/metadata/identity/oauth2/token/` (trailing slash).
import { createHash, generateKeyPairSync, randomUUID, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, readBody } from '../shared/http.js';
import { audiences, decodeJwt, keyFromJwk, signatureValid, signJwt, timeProblem } from '../shared/jwt.js';

export { json };

export interface FederatedCredential {
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface AppRegistration {
  tenantId: string;
  clientId: string;
  secrets?: string[];
  /** PEM certificates whose keys may sign client assertions. */
  certificates?: string[];
  federated?: FederatedCredential[];
}

export interface ManagedIdentity {
  tenantId: string;
  clientId: string;
  /** ARM id of a user-assigned identity (`msi_res_id`). */
  resourceId?: string;
  /** The VM's system-assigned identity, used when the request names none. */
  systemAssigned?: boolean;
}

/** The claims the test Key Vault reads from an access token. */
export interface AccessToken {
  tid: string;
  appid: string;
  aud: string;
  exp: number;
}

const TOKEN_LIFETIME_S = 3600;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

class EntraError extends Error {
  constructor(readonly status: number, readonly error: string, readonly code: number, description: string) {
    super(`AADSTS${code}: ${description}`);
  }
}

export class TestEntra {
  readonly apps = new Map<string, AppRegistration>();
  readonly identities: ManagedIdentity[] = [];
  readonly requests = { token: 0, imds: 0, refused: 0 };
  private readonly signing: { privateKey: KeyObject; publicKey: KeyObject };
  private readonly kid = randomUUID();
  private kubeKeys = new Map<string, KeyObject>();

  /** `kubeJwks` fetches the kube-apiserver's published ServiceAccount keys. */
  constructor(private readonly kubeJwks: () => Promise<JsonWebKey[]>) {
    this.signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  register(app: AppRegistration): void {
    this.apps.set(app.clientId, app);
  }

  addIdentity(identity: ManagedIdentity): void {
    this.identities.push(identity);
  }

  /** Checks an access token this service issued; returns its claims or why not. */
  verifyAccessToken(token: string): AccessToken | string {
    let jwt;
    try {
      jwt = decodeJwt(token);
    } catch {
      return 'the token is not a JWT';
    }
    if (jwt.header.kid !== this.kid || !signatureValid(jwt, this.signing.publicKey)) return 'the token signature is invalid';
    const problem = timeProblem(jwt.claims, undefined, 0);
    if (problem) return problem;
    const c = jwt.claims;
    return { tid: String(c.tid), appid: String(c.appid), aud: String(c.aud), exp: Number(c.exp) };
  }

  /** Handles the token service's paths; false when the path is not one of them. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<boolean> {
    const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(url.pathname);
    if (!m) return false;
    const [, tenant, what] = m as unknown as [string, string, string];
    const authority = `${base}/${tenant}`;
    if (what.startsWith('v2.0/')) {
      json(res, 200, {
        token_endpoint: `${authority}/oauth2/v2.0/token`,
        authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
        jwks_uri: `${authority}/discovery/v2.0/keys`,
        issuer: `${authority}/v2.0`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: null,
      });
      return true;
    }
    if (what.startsWith('discovery/')) {
      json(res, 200, { keys: [{ ...this.signing.publicKey.export({ format: 'jwk' }), kid: this.kid, use: 'sig' }] });
      return true;
    }
    if (req.method !== 'POST') {
      json(res, 405, { error: 'invalid_request', error_description: 'the token endpoint takes POST' });
      return true;
    }
    this.requests.token++;
    const form = new URLSearchParams(await body(req));
    try {
      const app = await this.authenticate(tenant, form, `${authority}/oauth2/v2.0/token`);
      const resource = resourceOf(form.get('scope') ?? '');
      json(res, 200, this.tokenResponse(app.tenantId, app.clientId, resource));
    } catch (err) {
      if (!(err instanceof EntraError)) throw err;
      this.requests.refused++;
      const now = new Date().toISOString();
      json(res, err.status, {
        error: err.error,
        error_description: `${err.message}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${now}`,
        error_codes: [err.code],
        timestamp: now,
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      });
    }
    return true;
  }

  /** The IMDS token endpoint (`GET /metadata/identity/oauth2/token`), served on its own plain-HTTP port like the real one. */
  handleImds(req: IncomingMessage, res: ServerResponse, url: URL): void {
    // MSAL asks for the path with a trailing slash; IMDS serves both.
    if (url.pathname.replace(/\/$/, '') !== '/metadata/identity/oauth2/token') {
      json(res, 404, { error: 'not_found', error_description: 'unknown IMDS path' });
      return;
    }
    this.requests.imds++;
    if (req.headers.metadata !== 'true') {
      json(res, 400, { error: 'invalid_request', error_description: 'Required metadata header not specified' });
      return;
    }
    const resource = url.searchParams.get('resource');
    if (!url.searchParams.get('api-version') || !resource) {
      json(res, 400, { error: 'invalid_request', error_description: 'api-version and resource are required' });
      return;
    }
    const clientId = url.searchParams.get('client_id');
    const resourceId = url.searchParams.get('msi_res_id') ?? url.searchParams.get('mi_res_id');
    const identity = this.identities.find((i) => (clientId ? i.clientId === clientId : resourceId ? i.resourceId?.toLowerCase() === resourceId.toLowerCase() : i.systemAssigned));
    if (!identity) {
      json(res, 400, { error: 'invalid_request', error_description: 'Identity not found' });
      return;
    }
    const t = this.tokenResponse(identity.tenantId, identity.clientId, resource.replace(/\/\.default$/, ''));
    // IMDS answers with numbers as strings.
    json(res, 200, { ...t, client_id: identity.clientId, expires_in: String(t.expires_in), expires_on: String(t.expires_on), not_before: String(t.not_before), resource, ext_expires_in: String(t.expires_in) });
  }

  private tokenResponse(tenantId: string, clientId: string, resource: string) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: resource, iss: `https://sts.windows.net/${tenantId}/`, iat: now, nbf: now, exp: now + TOKEN_LIFETIME_S, tid: tenantId, appid: clientId, oid: clientId, sub: clientId, idtyp: 'app' };
    return {
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      expires_on: claims.exp,
      not_before: now,
      access_token: signJwt(claims, this.signing.privateKey, { kid: this.kid }),
    };
  }

  private async authenticate(tenant: string, form: URLSearchParams, tokenEndpoint: string): Promise<AppRegistration> {
    if (form.get('grant_type') !== 'client_credentials') throw new EntraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = form.get('client_id') ?? '';
    const app = this.apps.get(clientId);
    if (![...this.apps.values(), ...this.identities].some((a) => a.tenantId === tenant)) {
      throw new EntraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    if (!app || app.tenantId !== tenant) {
      throw new EntraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
    }
    if (!resourceOf(form.get('scope') ?? '')) throw new EntraError(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
    const secret = form.get('client_secret');
    if (secret !== null) {
      if (!app.secrets?.includes(secret)) throw new EntraError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.');
      return app;
    }
    const assertion = form.get('client_assertion');
    if (assertion === null || form.get('client_assertion_type') !== ASSERTION_TYPE) {
      throw new EntraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    let jwt;
    try {
      jwt = decodeJwt(assertion);
    } catch {
      throw new EntraError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    if (jwt.header.x5t || jwt.header['x5t#S256']) {
      this.checkCertificateAssertion(app, jwt, tokenEndpoint);
    } else {
      await this.checkFederatedAssertion(app, jwt);
    }
    return app;
  }

  private checkCertificateAssertion(app: AppRegistration, jwt: ReturnType<typeof decodeJwt>, tokenEndpoint: string): void {
    const cert = (app.certificates ?? []).map((pem) => new X509Certificate(pem)).find((c) => {
      const der = c.raw;
      return jwt.header.x5t === createHash('sha1').update(der).digest('base64url') || jwt.header['x5t#S256'] === createHash('sha256').update(der).digest('base64url');
    });
    if (!cert) throw new EntraError(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${jwt.header.x5t ?? jwt.header['x5t#S256']}']`);
    if (!signatureValid(jwt, cert.publicKey)) throw new EntraError(401, 'invalid_client', 700027, 'Client assertion contains an invalid signature.');
    const c = jwt.claims;
    if (c.iss !== app.clientId || c.sub !== app.clientId) throw new EntraError(401, 'invalid_client', 700021, 'Client assertion application identifier doesn\'t match \'client_id\' parameter.');
    if (!audiences(c).includes(tokenEndpoint)) throw new EntraError(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${String(c.aud)}'.`);
    const time = timeProblem(c);
    if (time) throw new EntraError(401, 'invalid_client', 700024, `Client assertion is not within its valid time range: ${time}.`);
  }

  private async checkFederatedAssertion(app: AppRegistration, jwt: ReturnType<typeof decodeJwt>): Promise<void> {
    const key = await this.kubeKey(jwt.header.kid ?? '');
    if (!key || !signatureValid(jwt, key)) throw new EntraError(401, 'invalid_client', 50013, 'Assertion failed signature validation.');
    const c = jwt.claims;
    const byIssuer = (app.federated ?? []).filter((f) => f.issuer === c.iss);
    if (!byIssuer.length) throw new EntraError(400, 'invalid_request', 700211, `No matching federated identity record found for presented assertion issuer '${String(c.iss)}'.`);
    const bySubject = byIssuer.filter((f) => f.subject === c.sub);
    if (!bySubject.length) throw new EntraError(400, 'invalid_request', 700213, `No matching federated identity record found for presented assertion subject '${String(c.sub)}'.`);
    if (!bySubject.some((f) => f.audiences.some((a) => audiences(c).includes(a)))) {
      throw new EntraError(400, 'invalid_request', 700212, `No matching federated identity record found for presented assertion audience '${audiences(c).join(',')}'.`);
    }
    const time = timeProblem(c, undefined, 0);
    if (time) throw new EntraError(400, 'invalid_client', 700024, `Client assertion is not within its valid time range: ${time}.`);
  }

  /** The apiserver key by id; the published set is read again when an id is unknown (key rotation). */
  private async kubeKey(kid: string): Promise<KeyObject | undefined> {
    if (!this.kubeKeys.has(kid)) {
      const keys = await this.kubeJwks();
      this.kubeKeys = new Map(keys.map((k) => [String((k as { kid?: string }).kid), keyFromJwk(k)]));
    }
    return this.kubeKeys.get(kid);
  }
}

/** `https://vault.azure.net/.default` → `https://vault.azure.net`; other scopes (openid, profile) are ignored. */
function resourceOf(scope: string): string {
  const dflt = scope.split(' ').find((s) => s.endsWith('/.default'));
  return dflt ? dflt.slice(0, -'/.default'.length) : '';
}


export async function body(req: IncomingMessage): Promise<string> {
  return (await readBody(req)).toString('utf8');
}
