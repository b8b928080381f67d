// The Google test server's admin API: service account keys, role grants,
// workload identity pools and impersonation, RESOURCE_EXHAUSTED and CRC
// switches, request counts.
import { AdminClient } from '../shared/admin-client.js';
import type { WorkloadPool } from './identity.js';

export interface GoogleStats {
  api: number;
  byRpc: Record<string, number>;
  tokens: { sts: number; iam: number; refused: number };
}

export class GoogleAdmin extends AdminClient {
  addServiceAccountKey(email: string, keyId: string, publicKeyPem: string): Promise<unknown> {
    return this.call('POST', 'service-accounts', { email, keyId, publicKeyPem });
  }

  grant(principal: string, roles: string[]): Promise<unknown> {
    return this.call('POST', 'grants', { principal, roles });
  }

  addPool(pool: WorkloadPool): Promise<unknown> {
    return this.call('POST', 'pools', pool);
  }

  allowImpersonation(member: string, serviceAccount: string): Promise<unknown> {
    return this.call('POST', 'impersonation', { member, serviceAccount });
  }

  /** The next `calls` Secret Manager calls answer RESOURCE_EXHAUSTED with a RetryInfo delay. */
  throttle(calls: number, retryDelaySeconds = 1): Promise<unknown> {
    return this.call('POST', 'throttle', { calls, retryDelaySeconds });
  }

  corruptNextAccess(secret: string): Promise<unknown> {
    return this.call('POST', 'corrupt', { secret });
  }

  stats(): Promise<GoogleStats> {
    return this.call('GET', 'stats') as Promise<GoogleStats>;
  }
}
