// The Azure test server's admin API: register applications and managed
// identities with their Key Vault permissions and registry roles, inject throttling, read
// request counts.
import { AdminClient } from '../shared/admin-client.js';
import type { AdminApp, AdminIdentity } from './server.js';

export interface AzureStats {
  vault: number;
  byOperation: Record<string, number>;
  entra: { token: number; imds: number; refused: number };
  registry: { exchange: number; token: number; refused: number };
}

export class AzureAdmin extends AdminClient {
  registerApp(app: AdminApp): Promise<unknown> {
    return this.call('POST', 'apps', app);
  }

  addIdentity(identity: AdminIdentity): Promise<unknown> {
    return this.call('POST', 'identities', identity);
  }

  /** The next `requests` authenticated vault requests are answered 429 with Retry-After. */
  throttle(requests: number, retryAfterSeconds = 1): Promise<unknown> {
    return this.call('POST', 'throttle', { requests, retryAfterSeconds });
  }

  /** ACR role assignments (AcrPull, AcrPush) of an application on the test registry. */
  assignRegistryRoles(clientId: string, roles: string[]): Promise<unknown> {
    return this.call('POST', 'acr-roles', { clientId, roles });
  }

  stats(): Promise<AzureStats> {
    return this.call('GET', 'stats') as Promise<AzureStats>;
  }
}
