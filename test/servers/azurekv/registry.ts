// A test Azure Container Registry token service, written from Microsoft's
// published ACR authentication reference ("Azure Container Registry
// authentication", the AAD-OAuth flow): POST /oauth2/exchange trades an
// Entra ID access token for Azure Resource Manager for an ACR refresh token;
// POST /oauth2/token trades the refresh token for an access token for a
// repository scope. Both take form bodies and answer JSON; the tokens are
// RS256 JWTs with the registry as audience. Access follows ACR's built-in
// roles per application: AcrPull may pull, AcrPush may pull and push; any of
// them may exchange.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt, signatureValid, signJwt } from '../shared/jwt.js';
import { body, json, type TestEntra } from './entra.js';

/** The Resource Manager audiences ACR accepts an Entra ID token for. */
const ARM_AUDIENCES = ['https://management.core.windows.net/', 'https://management.azure.com/', 'https://management.azure.com', 'https://management.core.windows.net'];
const REFRESH_LIFETIME_S = 3 * 3600;
const ACCESS_LIFETIME_S = 75 * 60;

export class TestContainerRegistry {
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly roles = new Map<string, string[]>();
  readonly requests = { exchange: 0, token: 0, refused: 0 };

  constructor(private readonly entra: TestEntra, private readonly tenantId: string) {}

  /** ACR role assignments of an application (AcrPull, AcrPush). */
  assign(clientId: string, roles: string[]): void {
    this.roles.set(clientId, roles);
  }

  /** Handles /oauth2/exchange and /oauth2/token; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname !== '/oauth2/exchange' && url.pathname !== '/oauth2/token') return false;
    const host = String(req.headers.host ?? '');
    const reply = (status: number, answer: unknown) => {
      json(res, status, answer);
      return true;
    };
    if (req.method !== 'POST') return reply(405, errors('UNSUPPORTED', 'the token endpoints take POST'));
    const form = new URLSearchParams(await body(req));
    if (form.get('service') !== host) {
      this.requests.refused++;
      return reply(400, errors('BAD_REQUEST', `service must be the registry's login server, ${host}`));
    }
    if (url.pathname === '/oauth2/exchange') {
      this.requests.exchange++;
      if (form.get('grant_type') !== 'access_token') return reply(400, errors('BAD_REQUEST', 'grant_type must be access_token'));
      const aad = this.entra.verifyAccessToken(form.get('access_token') ?? '');
      if (typeof aad === 'string' || !ARM_AUDIENCES.includes(aad.aud) || aad.tid !== (form.get('tenant') ?? aad.tid) || aad.tid !== this.tenantId) {
        this.requests.refused++;
        return reply(401, errors('UNAUTHORIZED', `the access token is not valid for Azure Resource Manager in tenant ${this.tenantId}${typeof aad === 'string' ? `: ${aad}` : ''}`));
      }
      if (!(this.roles.get(aad.appid)?.length)) {
        this.requests.refused++;
        return reply(401, errors('UNAUTHORIZED', `application ${aad.appid} has no role on registry ${host}`));
      }
      return reply(200, { refresh_token: this.sign(host, aad.appid, 'refresh', REFRESH_LIFETIME_S) });
    }
    this.requests.token++;
    if (form.get('grant_type') !== 'refresh_token') return reply(400, errors('BAD_REQUEST', 'grant_type must be refresh_token'));
    const refresh = this.verify(form.get('refresh_token') ?? '', host, 'refresh');
    if (typeof refresh === 'string') {
      this.requests.refused++;
      return reply(401, errors('UNAUTHORIZED', refresh));
    }
    const scope = form.get('scope') ?? '';
    const m = /^repository:([^:]+):([a-z*,]+)$/.exec(scope);
    if (!m) return reply(400, errors('BAD_REQUEST', `invalid scope "${scope}"`));
    const roles = this.roles.get(refresh.sub) ?? [];
    const wanted = m[2]!.split(',');
    const allowed = (action: string) => roles.includes('AcrPush') || (action === 'pull' && roles.includes('AcrPull'));
    if (!wanted.every(allowed)) {
      this.requests.refused++;
      return reply(401, errors('UNAUTHORIZED', `application ${refresh.sub} may not ${m[2]} repository ${m[1]}`));
    }
    return reply(200, { access_token: this.sign(host, refresh.sub, scope, ACCESS_LIFETIME_S) });
  }

  private sign(registry: string, subject: string, grant: string, lifetime: number): string {
    const now = Math.floor(Date.now() / 1000);
    return signJwt({ jti: randomUUID(), sub: subject, aud: registry, iss: 'Azure Container Registry', iat: now, nbf: now, exp: now + lifetime, grant_type: grant, tenant: this.tenantId }, this.key.privateKey);
  }

  private verify(token: string, registry: string, grant: string): { sub: string } | string {
    try {
      const jwt = decodeJwt(token);
      if (!signatureValid(jwt, this.key.publicKey)) return 'the refresh token was not issued by this registry';
      const { claims } = jwt;
      if (claims.aud !== registry || claims.grant_type !== grant) return 'not a refresh token of this registry';
      if (Number(claims.exp) * 1000 < Date.now()) return 'the refresh token has expired';
      return { sub: String(claims.sub) };
    } catch {
      return 'not a token';
    }
  }
}

function errors(code: string, message: string) {
  return { errors: [{ code, message }] };
}
