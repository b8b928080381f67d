// VaultDynamicSecret: credentials from any Vault / OpenBao secrets engine
// (GET reads the path; POST/PUT writes parameters, e.g. pki/issue), logged in
// as a vault store would be, from the generator's namespace. New credentials
// are made before the lease ends; the lease they replace is revoked once the
// new ones are in place (revokeVaultDynamicLease, called by the controllers).
import type { VaultDynamicSecretSpec } from '../api/generated.js';
import type { CallContext } from '../providers/provider.js';
import { vaultConnection } from '../providers/vault/provider.js';
import type { GenerateContext, Generated } from './generator.js';

const CALL_TIMEOUT_MS = 30_000;

function callContext(ctx: GenerateContext): CallContext {
  return { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]), deadlineAt: Date.now() + CALL_TIMEOUT_MS, log: ctx.log, consumer: '', request: () => Promise.resolve() };
}

export async function generateVaultDynamic(spec: VaultDynamicSecretSpec, ctx: GenerateContext): Promise<Generated> {
  const { http, token } = vaultConnection(spec.provider, ctx.kube, ctx.namespace, ctx.connectGuard);
  const call = callContext(ctx);
  const path = spec.path.replace(/^\/+/, '');
  try {
    const method = (spec.method ?? 'GET') === 'GET' ? 'read' : 'write';
    const response = await http.send(call, method, path, await token.get(call), method === 'write' ? (spec.parameters ?? {}) : undefined, path);
    const source = (spec.resultType ?? 'Data') === 'Raw' ? (response as Record<string, unknown>) : (response.data ?? {});
    const values: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(source)) {
      if (v === null || v === undefined) continue;
      values[k] = new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
    }
    if (Object.keys(values).length === 0) throw new Error(`vault returned no data at "${path}"`);
    const ttl = response.lease_duration ?? 0;
    return { values, expiresAt: ttl > 0 ? new Date(Date.now() + ttl * 1000) : undefined, leaseId: response.lease_id || undefined };
  } finally {
    await http.close();
  }
}

/** Revokes the lease of credentials nothing uses any more (their ExternalSecret or its generator entry is gone). */
export async function revokeVaultDynamicLease(spec: VaultDynamicSecretSpec, ctx: GenerateContext, leaseId: string): Promise<void> {
  const { http, token } = vaultConnection(spec.provider, ctx.kube, ctx.namespace, ctx.connectGuard);
  const call = callContext(ctx);
  try {
    await http.send(call, 'write', 'sys/leases/revoke', await token.get(call), { lease_id: leaseId }, 'lease');
  } finally {
    await http.close();
  }
}
