// Azure Key Vault change events, pushed by Event Grid to the webhook port
// (POST /hooks/azure-eventgrid), with Entra ID authentication: every request
// carries a bearer token Entra issued for the audience the operator is
// given, checked against the tenant's published keys (signature, issuer,
// audience, expiry) before anything else. The subscription validation
// handshake is answered; `Microsoft.KeyVault.SecretNewVersionCreated`
// refreshes the ExternalSecrets that read that secret in the stores whose
// vault it names (the vault's name is the first label of the store's vaultUrl
// host, as in https://<name>.vault.azure.net).
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { storeIdOf, storeKey, type StoreKey } from '../api/store-id.js';
import type { ClusterSecretStore, SecretStore } from '../api/types.js';
import type { RefreshEvents } from './refresh-events.js';

const SOURCE = 'azure-eventgrid';
const NEW_VERSION = 'Microsoft.KeyVault.SecretNewVersionCreated';
const VALIDATION = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export interface AzureEventGridOptions {
  tenantId: string;
  /** The audience Event Grid asks Entra tokens for (the app id or its application id URI). */
  audience: string;
  /** Entra's authority host (AZURE_AUTHORITY_HOST for a private cloud); default the public cloud's. */
  authorityHost?: string;
}

interface GridEvent { eventType?: unknown; data?: { validationCode?: unknown; VaultName?: unknown; ObjectName?: unknown; ObjectType?: unknown } }

export class AzureEventGrid {
  private keys?: JWTVerifyGetKey;
  private readonly authority: string;

  constructor(
    private readonly opts: AzureEventGridOptions,
    private readonly events: RefreshEvents,
    /** The stores (keys) whose vault has this name. */
    private readonly storesOfVault: (vaultName: string) => StoreKey[],
  ) {
    this.authority = `${(opts.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/$/, '')}/${opts.tenantId}`;
  }

  /** The answer to one delivery: status and JSON body. */
  async handle(authorization: string | undefined, body: string): Promise<{ status: number; body?: object }> {
    if (!(await this.authenticated(authorization))) {
      this.events.refused(SOURCE, 'unauthenticated');
      return { status: 401 };
    }
    let delivered: GridEvent[];
    try {
      const parsed = JSON.parse(body) as unknown;
      delivered = Array.isArray(parsed) ? (parsed as GridEvent[]) : [parsed as GridEvent];
    } catch {
      this.events.refused(SOURCE, 'malformed');
      return { status: 400 };
    }
    const validation = delivered.find((e) => e.eventType === VALIDATION);
    if (validation) {
      const code = validation.data?.validationCode;
      if (typeof code !== 'string') return { status: 400 };
      return { status: 200, body: { validationResponse: code } };
    }
    for (const e of delivered) {
      const name = e.data?.ObjectName;
      const vault = e.data?.VaultName;
      if (e.eventType !== NEW_VERSION) continue;
      if (typeof name !== 'string' || typeof vault !== 'string') {
        this.events.refused(SOURCE, 'malformed');
        continue;
      }
      // A vault no store uses is unknown, like any key nobody reads.
      this.events.changed({ stores: this.storesOfVault(vault), keys: [name], source: SOURCE });
    }
    return { status: 200, body: {} };
  }

  private async authenticated(authorization: string | undefined): Promise<boolean> {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return false;
    try {
      this.keys ??= await this.discoverKeys();
      await jwtVerify(token, this.keys, {
        audience: this.opts.audience,
        // v1 and v2 tokens name the tenant's issuer differently.
        issuer: [`https://sts.windows.net/${this.opts.tenantId}/`, `${this.authority}/v2.0`],
        algorithms: ['RS256'],
        clockTolerance: 300,
      });
      return true;
    } catch {
      return false;
    }
  }

  private async discoverKeys(): Promise<JWTVerifyGetKey> {
    const res = await fetch(`${this.authority}/v2.0/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`Entra OpenID configuration: HTTP ${res.status}`);
    const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri?: string };
    if (!jwksUri) throw new Error('Entra OpenID configuration has no jwks_uri');
    return createRemoteJWKSet(new URL(jwksUri));
  }
}

/** The vault name of a Key Vault URL: its host's first label. */
export function vaultNameOf(vaultUrl: string): string | undefined {
  try {
    return new URL(vaultUrl).hostname.split('.')[0]?.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The Azure Key Vault stores (SecretStores, then ClusterSecretStores) whose vault has this name. */
export function storesOfVault(vault: string, stores: Iterable<SecretStore>, clusterStores: Iterable<ClusterSecretStore>): StoreKey[] {
  const name = vault.toLowerCase();
  const matches = (s: SecretStore | ClusterSecretStore) => s.spec.provider.azurekv !== undefined && vaultNameOf(s.spec.provider.azurekv.vaultUrl) === name;
  return [
    ...[...stores].filter(matches).map((s) => storeKey(storeIdOf(s, 'SecretStore'))),
    ...[...clusterStores].filter(matches).map((s) => storeKey(storeIdOf(s, 'ClusterSecretStore'))),
  ];
}
