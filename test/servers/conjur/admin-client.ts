// The Conjur test server's admin API: hosts and users, variables with their
// values, annotations and permissions, authn-jwt services, the access token
// lifetime, and request counts.
import { AdminClient } from '../shared/admin-client.js';
import type { JwtService } from './conjur.js';
import type { AdminVariable } from './server.js';

export interface ConjurStats {
  requests: number;
  byOperation: Record<string, number>;
}

export class ConjurAdmin extends AdminClient {
  /** A host (host/<id>) or user (user/<id>); returns its API key. */
  async addRole(login: string, annotations: Record<string, string> = {}): Promise<string> {
    return ((await this.call('POST', 'roles', { login, annotations })) as { apiKey: string }).apiKey;
  }

  /** Creates or updates a variable; returns its latest version number (0: no value). */
  async addVariable(variable: Omit<AdminVariable, 'values'> & { values?: Array<string | Buffer> }): Promise<number> {
    const out = (await this.call('POST', 'variables', { ...variable, values: variable.values?.map((v) => Buffer.from(v).toString('base64')) })) as { version: number };
    return out.version;
  }

  addJwtService(service: JwtService): Promise<unknown> {
    return this.call('POST', 'jwt-services', service);
  }

  /** Access tokens issued from now on last this long (Conjur: 8 minutes). */
  tokenTtl(seconds: number): Promise<unknown> {
    return this.call('POST', 'token-ttl', { seconds });
  }

  /** Every access token issued so far stops working (Conjur answers 401). */
  revokeTokens(): Promise<unknown> {
    return this.call('POST', 'revoke-tokens', {});
  }

  stats(): Promise<ConjurStats> {
    return this.call('GET', 'stats') as Promise<ConjurStats>;
  }
}
