// What a generator is: given its spec and where it runs, it makes values
// and says how long they stand. The registry (generators.ts) imports each
// generator; generators import this, never the registry.
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import type { ConnectGuard } from '../providers/connect-guard.js';

export interface GenerateContext {
  namespace: string;
  kube: KubeClient;
  signal: AbortSignal;
  log: Logger;
  /** Under --deny-store-hosts: every connection to the generator's endpoint goes through it. */
  connectGuard?: ConnectGuard;
}

export interface Generated {
  values: Record<string, Uint8Array>;
  /** The values stop working at this time (a token): a new one is generated before it. */
  expiresAt?: Date;
  leaseId?: string;
}

/** A string as the UTF-8 bytes generators output. */
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
