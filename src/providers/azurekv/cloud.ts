// Which Azure cloud a store talks to: the Entra ID authority host for its
// environmentType, and whether the vault's host is a Key Vault DNS name the
// SDK can check the auth challenge against.

export type EnvironmentType = 'PublicCloud' | 'ChinaCloud' | 'USGovernmentCloud';

const AUTHORITY_HOSTS: Record<EnvironmentType, string> = {
  PublicCloud: 'https://login.microsoftonline.com',
  ChinaCloud: 'https://login.chinacloudapi.cn',
  USGovernmentCloud: 'https://login.microsoftonline.us',
};

const VAULT_SUFFIXES = ['.vault.azure.net', '.vault.azure.cn', '.vault.usgovcloudapi.net', '.managedhsm.azure.net', '.managedhsm.azure.cn', '.managedhsm.usgovcloudapi.net'];

/**
 * The authority host: AZURE_AUTHORITY_HOST (the Azure SDKs' own variable, for
 * Azure Stack and other private clouds) when the operator has it, else the
 * store's cloud.
 */
export function authorityHost(environment: EnvironmentType | undefined): string {
  return process.env.AZURE_AUTHORITY_HOST || AUTHORITY_HOSTS[environment ?? 'PublicCloud'];
}

/**
 * MSAL knows the public clouds' metadata; for any other authority host it
 * would ask login.microsoftonline.com to discover it, which a private cloud
 * cannot answer, so discovery is off there.
 */
export function isKnownAuthority(host: string): boolean {
  return Object.values(AUTHORITY_HOSTS).includes(host.replace(/\/+$/, ''));
}

/**
 * The SDK checks that the challenge's resource matches a Key Vault DNS name;
 * a vault behind any other name (Azure Stack Hub, a private DNS name) cannot
 * pass that check, so it is only asked for on the clouds' own names.
 */
export function isKnownVaultHost(vaultUrl: string): boolean {
  const host = new URL(vaultUrl).hostname.toLowerCase();
  return VAULT_SUFFIXES.some((s) => host.endsWith(s));
}
