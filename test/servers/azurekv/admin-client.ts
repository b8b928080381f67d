// Talks to a running Azure test server's admin API (tests and the bench):
// register applications and managed identities with their Key Vault
// permissions, inject throttling, read request counts.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { AdminApp, AdminIdentity } from './server.js';

export interface AzureStats {
  vault: number;
  byOperation: Record<string, number>;
  entra: { token: number; imds: number; refused: number };
}

export class AzureAdmin {
  private readonly agent: Agent;

  constructor(readonly baseUrl: string, private readonly key: string, caFile: string) {
    this.agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
  }

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

  stats(): Promise<AzureStats> {
    return this.call('GET', 'stats') as Promise<AzureStats>;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await request(`${this.baseUrl}/__admin/${path}`, {
      method,
      dispatcher: this.agent,
      headers: { 'x-admin-key': this.key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`azure admin ${path}: HTTP ${res.statusCode} ${text}`);
    return JSON.parse(text) as unknown;
  }
}
