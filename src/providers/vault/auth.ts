// Vault / OpenBao login, and the token it yields, cached per store: renewed
// before it expires (at 2/3 of its TTL), obtained again when renewal fails or
// the server answers 403. A changed credential Secret makes a new client (see
// the store controller), so a cached token never outlives its credentials.
import type { AnyStore } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { readSecretKey, serviceAccountToken } from '../credentials.js';
import { StoreConfigError } from '../errors.js';
import type { CallContext } from '../provider.js';
import type { VaultHttp, VaultResponse } from './http.js';

type VaultSpec = NonNullable<AnyStore['spec']['provider']['vault']>;

interface Token {
  value: string;
  /** When to renew or log in again; undefined for tokens that do not expire. */
  refreshAt?: number;
  renewable: boolean;
}

export class VaultToken {
  private current?: Promise<Token>;

  constructor(
    private readonly http: VaultHttp,
    private readonly spec: VaultSpec,
    private readonly kube: KubeClient,
    private readonly namespace: string,
  ) {}

  /** A valid token, logging in or renewing as needed. */
  async get(ctx: CallContext): Promise<string> {
    let token = await (this.current ??= this.login(ctx));
    if (token.refreshAt !== undefined && Date.now() >= token.refreshAt) {
      this.current = this.renewOrLogin(ctx, token);
      token = await this.current;
    }
    return token.value;
  }

  /** The server refused the token (403): the next get() logs in again. */
  invalidate(): void {
    this.current = undefined;
  }

  private async renewOrLogin(ctx: CallContext, token: Token): Promise<Token> {
    if (token.renewable) {
      try {
        const renewed = await this.http.send(ctx, 'write', 'auth/token/renew-self', token.value);
        if (renewed.auth) return fromAuth(renewed.auth);
      } catch {
        // Not renewable any more (max TTL reached, revoked): log in again.
      }
    }
    return this.login(ctx);
  }

  private async login(ctx: CallContext): Promise<Token> {
    try {
      return await this.doLogin(ctx, this.spec.auth);
    } catch (err) {
      this.current = undefined;
      throw err;
    }
  }

  private async doLogin(ctx: CallContext, auth: VaultSpec['auth']): Promise<Token> {
    if (auth.tokenSecretRef) {
      const value = (await readSecretKey(this.kube, this.namespace, auth.tokenSecretRef, 'vault auth.tokenSecretRef')).trim();
      return { value, renewable: false };
    }
    if (auth.kubernetes) {
      const { token } = await serviceAccountToken(this.kube, this.namespace, auth.kubernetes.serviceAccountRef, ['vault'], 'vault auth.kubernetes.serviceAccountRef');
      return this.loginAt(ctx, `auth/${trimSlashes(auth.kubernetes.mountPath ?? 'kubernetes')}/login`, { role: auth.kubernetes.role, jwt: token });
    }
    if (auth.appRole) {
      const secretId = (await readSecretKey(this.kube, this.namespace, auth.appRole.secretRef, 'vault auth.appRole.secretRef')).trim();
      return this.loginAt(ctx, `auth/${trimSlashes(auth.appRole.path ?? 'approle')}/login`, { role_id: auth.appRole.roleId, secret_id: secretId });
    }
    if (auth.jwt) {
      const jwt = auth.jwt.secretRef
        ? (await readSecretKey(this.kube, this.namespace, auth.jwt.secretRef, 'vault auth.jwt.secretRef')).trim()
        : (await serviceAccountToken(this.kube, this.namespace, auth.jwt.kubernetesServiceAccountToken!.serviceAccountRef, ['vault'], 'vault auth.jwt.kubernetesServiceAccountToken')).token;
      return this.loginAt(ctx, `auth/${trimSlashes(auth.jwt.path ?? 'jwt')}/login`, { role: auth.jwt.role, jwt });
    }
    throw new StoreConfigError('vault auth needs one of tokenSecretRef, kubernetes, appRole or jwt');
  }

  private async loginAt(ctx: CallContext, path: string, body: Record<string, string>): Promise<Token> {
    const response: VaultResponse = await this.http.send(ctx, 'write', path, undefined, body);
    if (!response.auth) throw new Error(`login at ${path} returned no token`);
    return fromAuth(response.auth);
  }
}

function fromAuth(auth: NonNullable<VaultResponse['auth']>): Token {
  const ttlMs = auth.lease_duration * 1000;
  return {
    value: auth.client_token,
    renewable: auth.renewable,
    refreshAt: ttlMs > 0 ? Date.now() + (ttlMs * 2) / 3 : undefined,
  };
}

export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
