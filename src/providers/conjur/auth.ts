// Conjur access tokens for a store: an API key exchanged at
// /authn/{account}/{login}/authenticate, or a JWT (a ServiceAccount token the
// operator mints, or one kept in a Secret) at /authn-jwt/{service}/{account}.
// A token lasts about 8 minutes: it is cached and renewed once most of its
// life has passed, and dropped when Conjur answers 401 so the next call logs
// in again. The API key and JWT are read fresh for each login, so a rotated
// one is used at once.
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountToken } from '../credentials.js';
import { PermissionDeniedError } from '../errors.js';
import type { CallContext } from '../provider.js';
import type { ConjurHttp } from './http.js';

type ConjurSpec = NonNullable<AnyStore['spec']['provider']['conjur']>;

/** The audience of minted ServiceAccount tokens when the store names none (an authn-jwt `audience` to match). */
export const DEFAULT_AUDIENCE = 'conjur';
/** Renew when this share of a token's life has passed (Conjur's own clients use 85%). */
const RENEW_AT = 0.8;

interface Token {
  header: string;
  renewAt: number;
}

export class ConjurLogin {
  private current?: Promise<Token>;

  constructor(
    private readonly http: ConjurHttp,
    private readonly spec: ConjurSpec,
    private readonly kube: KubeClient,
    private readonly namespace: string,
  ) {}

  get account(): string {
    return (this.spec.auth.apikey ?? this.spec.auth.jwt)!.account;
  }

  /** The Authorization header for the next request. */
  async header(ctx: CallContext): Promise<string> {
    const cached = this.current ? await this.current.catch(() => undefined) : undefined;
    if (cached && Date.now() < cached.renewAt) return cached.header;
    this.current = this.login(ctx);
    return (await this.current).header;
  }

  /** Conjur refused the token (401): log in again on the next call. */
  forget(): void {
    this.current = undefined;
  }

  private async login(ctx: CallContext): Promise<Token> {
    const { apikey, jwt } = this.spec.auth;
    let token: Buffer;
    if (apikey) {
      const login = (await readSecretKey(this.kube, this.namespace, apikey.userRef, 'conjur auth.apikey.userRef')).trim();
      const key = (await readSecretKey(this.kube, this.namespace, apikey.apiKeyRef, 'conjur auth.apikey.apiKeyRef')).trim();
      token = await this.http.authenticate(`/authn/${encodeURIComponent(apikey.account)}/${encodeURIComponent(login)}/authenticate`, key, 'text/plain', `"${login}"`, ctx);
    } else {
      const spec = jwt!;
      const assertion = spec.serviceAccountRef
        ? (await serviceAccountToken(this.kube, this.namespace, spec.serviceAccountRef, [DEFAULT_AUDIENCE], 'conjur auth.jwt.serviceAccountRef')).token
        : (await readSecretKey(this.kube, this.namespace, spec.secretRef!, 'conjur auth.jwt.secretRef')).trim();
      const host = spec.hostId ? `/${encodeURIComponent(spec.hostId)}` : '';
      const path = `/authn-jwt/${encodeURIComponent(spec.serviceID)}/${encodeURIComponent(spec.account)}${host}/authenticate`;
      token = await this.http.authenticate(path, `jwt=${encodeURIComponent(assertion)}`, 'application/x-www-form-urlencoded', `authn-jwt/${spec.serviceID}${spec.hostId ? ` as host/${spec.hostId}` : ''}`, ctx);
    }
    return { header: `Token token="${token.toString('base64')}"`, renewAt: renewAt(token) };
  }
}

/** When to renew: most of the way from iat to exp in the token's payload (5 minutes when it has no exp). */
function renewAt(token: Buffer): number {
  try {
    const { payload } = JSON.parse(token.toString('utf8')) as { payload: string };
    const { iat, exp } = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { iat?: number; exp?: number };
    const issued = (iat ?? Date.now() / 1000) * 1000;
    const life = exp ? exp * 1000 - issued : 5 * 60_000;
    return Math.min(issued + life * RENEW_AT, Date.now() + life);
  } catch {
    throw new PermissionDeniedError('Conjur answered the login with something that is not an access token');
  }
}
