// Google identity for the test Secret Manager: who a bearer token is, and
// the token services that issue them, written from Google's published
// references. It checks what it is given:
// - self-signed service account JWTs (what google-auth-library sends for a
//   service account key with `useJWTAccessWithScope`): RS256 by a registered
//   key (`kid` = private_key_id), iss = sub = the account, a cloud-platform
//   scope or the service's audience, at most an hour long;
// - Security Token Service `POST /v1/token` (RFC 8693 token exchange): the
//   subject token is a ServiceAccount JWT from the test kube-apiserver,
//   verified against its published keys (signature, issuer, audience,
//   expiry) for a registered workload identity pool provider;
// - IAM Credentials `generateAccessToken`, allowed when the federated
//   principal holds roles/iam.workloadIdentityUser on the service account.
import { randomBytes, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { audiences, decodeJwt, keyFromJwk, signatureValid, timeProblem } from '../shared/jwt.js';
import { ROLES, type Caller } from './secret-manager.js';

export interface WorkloadPool {
  /** The STS `audience` this provider answers to. */
  audience: string;
  /** The OIDC issuer of the subject tokens (the kube-apiserver). */
  issuer: string;
  /** Audiences a subject token must carry one of. */
  tokenAudiences: string[];
  /** The principal a subject maps to; `{sub}`, `{namespace}` and `{name}` are filled in. */
  principal: string;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const API_AUDIENCE = 'https://secretmanager.googleapis.com/';
const TOKEN_LIFETIME_MS = 3_600_000;

export class TestGoogleIdentity {
  readonly keys = new Map<string, { email: string; key: KeyObject }>();
  readonly grants = new Map<string, Set<string>>();
  readonly pools: WorkloadPool[] = [];
  /** Service account email → members allowed to impersonate it. */
  readonly impersonators = new Map<string, Set<string>>();
  readonly counts = { sts: 0, iam: 0, refused: 0 };
  private readonly issued = new Map<string, { principal: string; expiresAt: number }>();
  private kubeKeys = new Map<string, KeyObject>();

  constructor(private readonly kubeJwks: () => Promise<JsonWebKey[]>) {}

  addServiceAccountKey(email: string, keyId: string, publicKeyPem: string): void {
    this.keys.set(keyId, { email, key: createPublicKey(publicKeyPem) });
  }

  grant(principal: string, roles: string[]): void {
    const set = this.grants.get(principal) ?? new Set<string>();
    for (const r of roles) set.add(r);
    this.grants.set(principal, set);
  }

  allowImpersonation(member: string, serviceAccount: string): void {
    const set = this.impersonators.get(serviceAccount) ?? new Set<string>();
    set.add(member);
    this.impersonators.set(serviceAccount, set);
  }

  /** The caller behind a Secret Manager call's metadata, or why not (UNAUTHENTICATED). */
  caller(authorization: string | undefined): Caller | string {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    const issued = this.issued.get(token);
    const principal = issued ? (issued.expiresAt > Date.now() ? issued.principal : 'the access token expired') : this.selfSigned(token);
    if (!principal.includes(':')) {
      // Why, for the server's log; the caller gets the service's generic answer.
      console.error(`refused a bearer token: ${principal}`);
      return 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    }
    const permissions = new Set<string>();
    for (const role of this.grants.get(principal) ?? []) for (const p of ROLES[role] ?? []) permissions.add(p);
    return { principal, permissions };
  }

  /** The principal of a self-signed service account JWT, or why it is refused (no colon). */
  private selfSigned(token: string): string {
    let jwt;
    try {
      jwt = decodeJwt(token);
    } catch {
      return 'not a JWT and not an issued token';
    }
    const c = jwt.claims;
    // With a kid, that key; without one (a client given only client_email and private_key), any key of the account.
    const candidates = jwt.header.kid ? [this.keys.get(jwt.header.kid)].filter((e) => e !== undefined) : [...this.keys.values()].filter((e) => e.email === c.iss);
    if (!candidates.length) return `unknown key id ${String(jwt.header.kid)} for ${String(c.iss)}`;
    const entry = candidates.find((e) => signatureValid(jwt, e.key));
    if (!entry) return 'bad signature';
    if (c.iss !== entry.email || c.sub !== entry.email) return 'iss/sub are not the key\'s service account';
    const time = timeProblem(c, undefined, 0);
    if (time) return time;
    if (typeof c.iat !== 'number' || c.exp! - c.iat > 3600) return 'lifetime over an hour';
    const scoped = typeof c.scope === 'string' && c.scope.split(' ').includes(CLOUD_PLATFORM);
    if (!scoped && !audiences(c).includes(API_AUDIENCE)) return `neither the cloud-platform scope nor the service audience (scope ${String(c.scope)}, aud ${String(c.aud)})`;
    return `serviceAccount:${entry.email}`;
  }

  /** STS and IAM Credentials paths; false when the path is not theirs. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<boolean> {
    if (url.pathname === '/v1/token' && req.method === 'POST') {
      this.counts.sts++;
      await this.exchange(res, req.headers['content-type']?.includes('json') ? new URLSearchParams(JSON.parse(body || '{}') as Record<string, string>) : new URLSearchParams(body));
      return true;
    }
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      this.counts.iam++;
      this.generateAccessToken(res, decodeURIComponent(m[1]!), req.headers.authorization, body);
      return true;
    }
    return false;
  }

  private async exchange(res: ServerResponse, form: URLSearchParams): Promise<void> {
    const refuse = (description: string) => {
      this.counts.refused++;
      send(res, 400, { error: 'invalid_grant', error_description: description });
    };
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') return refuse('Invalid value for "grant_type".');
    if (form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:jwt' && form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:id_token') {
      return refuse('Invalid value for "subject_token_type".');
    }
    const pool = this.pools.find((p) => p.audience === form.get('audience'));
    if (!pool) return refuse(`The audience "${form.get('audience')}" does not match a workload identity pool provider.`);
    let jwt;
    try {
      jwt = decodeJwt(form.get('subject_token') ?? '');
    } catch {
      return refuse('The subject token is not a valid JWT.');
    }
    const key = await this.kubeKey(jwt.header.kid ?? '');
    if (!key || !signatureValid(jwt, key)) return refuse('Invalid JWT signature.');
    const c = jwt.claims;
    if (c.iss !== pool.issuer) return refuse(`The issuer in ID Token ${String(c.iss)} does not match the expected ones.`);
    if (!audiences(c).some((a) => pool.tokenAudiences.includes(a))) return refuse(`The audience in ID Token [${audiences(c).join(',')}] does not match the expected audience.`);
    const time = timeProblem(c, undefined, 0);
    if (time) return refuse(`ID Token ${time}.`);
    const sub = String(c.sub);
    const [, namespace = '', name = ''] = /^system:serviceaccount:([^:]+):(.+)$/.exec(sub) ?? [];
    const principal = pool.principal.replace('{sub}', sub).replace('{namespace}', namespace).replace('{name}', name);
    send(res, 200, { access_token: this.issue(principal), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: TOKEN_LIFETIME_MS / 1000 });
  }

  private generateAccessToken(res: ServerResponse, email: string, authorization: string | undefined, body: string): void {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
    const issued = this.issued.get(token);
    if (!issued || issued.expiresAt <= Date.now()) {
      this.counts.refused++;
      return send(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    }
    if (!this.impersonators.get(email)?.has(issued.principal)) {
      this.counts.refused++;
      return send(res, 403, { error: { code: 403, message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", status: 'PERMISSION_DENIED' } });
    }
    const scope = (JSON.parse(body || '{}') as { scope?: string[] }).scope ?? [];
    if (!scope.includes(CLOUD_PLATFORM)) return send(res, 400, { error: { code: 400, message: 'Scope required.', status: 'INVALID_ARGUMENT' } });
    const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
    send(res, 200, { accessToken: this.issue(`serviceAccount:${email}`, expiresAt), expireTime: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') });
  }

  private issue(principal: string, expiresAt = Date.now() + TOKEN_LIFETIME_MS): string {
    const token = `ya29.test-${randomBytes(24).toString('base64url')}`;
    this.issued.set(token, { principal, expiresAt });
    return token;
  }

  private async kubeKey(kid: string): Promise<KeyObject | undefined> {
    if (!this.kubeKeys.has(kid)) {
      const keys = await this.kubeJwks();
      this.kubeKeys = new Map(keys.map((k) => [String((k as { kid?: string }).kid), keyFromJwk(k)]));
    }
    return this.kubeKeys.get(kid);
  }
}

export function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
