// The azurekv provider's pure parts: object references, ISO 8601 durations,
// certificate chains, clouds, and how SDK failures map to typed errors.
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../../src/providers/errors.js';
import { authorityHost, isKnownAuthority, isKnownVaultHost } from '../../src/providers/azurekv/cloud.js';
import { specProblems } from '../../src/providers/azurekv/credentials.js';
import { azureError } from '../../src/providers/azurekv/errors.js';
import { retryAfterMs } from '../../src/providers/errors.js';
import { addIsoDuration, certificateChain, parseObjectRef } from '../../src/providers/azurekv/objects.js';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });

describe('azurekv object references', () => {
  it('reads secret/, cert/, key/ and bare names', () => {
    expect(parseObjectRef('db')).toEqual({ kind: 'secret', name: 'db' });
    expect(parseObjectRef('secret/db-1')).toEqual({ kind: 'secret', name: 'db-1' });
    expect(parseObjectRef('cert/tls')).toEqual({ kind: 'cert', name: 'tls' });
    expect(parseObjectRef('key/sign')).toEqual({ kind: 'key', name: 'sign' });
  });

  it('refuses other prefixes and names Key Vault cannot hold, before any request', () => {
    expect(() => parseObjectRef('blob/x')).toThrow(NotFoundError);
    expect(() => parseObjectRef('secret/a_b')).toThrow(/letters, digits and dashes/);
    expect(() => parseObjectRef('secret/')).toThrow(NotFoundError);
    expect(() => parseObjectRef(`x${'a'.repeat(127)}`)).toThrow(NotFoundError);
  });
});

describe('ISO 8601 durations', () => {
  const at = new Date('2026-01-31T00:00:00Z');
  it.each([
    ['P90D', '2026-05-01T00:00:00.000Z'],
    ['P1Y', '2027-01-31T00:00:00.000Z'],
    ['P2W', '2026-02-14T00:00:00.000Z'],
    ['PT36H', '2026-02-01T12:00:00.000Z'],
    ['P1DT1H1M1S', '2026-02-01T01:01:01.000Z'],
  ])('%s after', (d, want) => expect(addIsoDuration(at, d)?.toISOString()).toBe(want));

  it('subtracts, and refuses what is not a duration', () => {
    expect(addIsoDuration(at, 'P30D', -1)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    for (const bad of ['P', 'PT', '30D', 'P1.5D', '']) expect(addIsoDuration(at, bad)).toBeUndefined();
  });
});

describe('certificate chains', () => {
  it('keeps the certificates in order, drops the private key, normalises line ends', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\r\nk\r\n-----END PRIVATE KEY-----\r\n-----BEGIN CERTIFICATE-----\r\nleaf\r\n-----END CERTIFICATE-----\r\n-----BEGIN CERTIFICATE-----\r\nca\r\n-----END CERTIFICATE-----\r\n';
    expect(certificateChain(pem)).toBe('-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
    expect(certificateChain('no pem here')).toBeUndefined();
  });
});

describe('Azure clouds', () => {
  afterEach(() => {
    delete process.env.AZURE_AUTHORITY_HOST;
  });

  it('picks the authority host from environmentType, unless the operator has AZURE_AUTHORITY_HOST', () => {
    expect(authorityHost(undefined)).toBe('https://login.microsoftonline.com');
    expect(authorityHost('ChinaCloud')).toBe('https://login.chinacloudapi.cn');
    expect(authorityHost('USGovernmentCloud')).toBe('https://login.microsoftonline.us');
    process.env.AZURE_AUTHORITY_HOST = 'https://login.stack.example';
    expect(authorityHost('PublicCloud')).toBe('https://login.stack.example');
    expect(isKnownAuthority('https://login.microsoftonline.com/')).toBe(true);
    expect(isKnownAuthority('https://login.stack.example')).toBe(false);
  });

  it('checks the auth challenge only on Key Vault DNS names', () => {
    expect(isKnownVaultHost('https://team.vault.azure.net')).toBe(true);
    expect(isKnownVaultHost('https://team.vault.usgovcloudapi.net/')).toBe(true);
    expect(isKnownVaultHost('https://vault.stack.example')).toBe(false);
  });
});

describe('azurekv store checks', () => {
  it('names what a service principal or workload identity lacks', () => {
    expect(specProblems({ vaultUrl: 'https://v' })).toEqual([
      'azurekv ServicePrincipal needs tenantId',
      'azurekv ServicePrincipal needs authSecretRef.clientId',
      'azurekv ServicePrincipal needs exactly one of authSecretRef.clientSecret or authSecretRef.clientCertificate',
    ]);
    expect(specProblems({ vaultUrl: 'https://v', authType: 'WorkloadIdentity' })).toEqual(['azurekv WorkloadIdentity needs serviceAccountRef']);
    expect(specProblems({ vaultUrl: 'https://v', authType: 'ManagedIdentity' })).toEqual([]);
  });
});

describe('azurekv failures', () => {
  it('reads Retry-After as seconds, an HTTP date, or x-ms-retry-after-ms', () => {
    expect(retryAfterMs(headers({ 'retry-after': '7' }))).toBe(7000);
    expect(retryAfterMs(headers({ 'x-ms-retry-after-ms': '250', 'retry-after': '7' }))).toBe(250);
    const date = retryAfterMs(headers({ 'retry-after': new Date(Date.now() + 10_000).toUTCString() }))!;
    expect(date).toBeGreaterThan(8000);
    expect(date).toBeLessThanOrEqual(10_000);
    expect(retryAfterMs(headers({}))).toBeUndefined();
  });

  it('maps statuses and credential failures to typed errors', () => {
    expect(azureError({ statusCode: 404 }, 'k', 'v1')).toEqual(new NotFoundError('k', 'version "v1" does not exist'));
    expect(azureError({ statusCode: 403, details: { error: { innererror: { code: 'SecretDisabled' } } } }, 'k').message).toBe('remote secret "k" not found: it is disabled in Key Vault');
    const throttled = azureError({ statusCode: 429, response: { headers: headers({ 'retry-after': '3' }) } }, 'k');
    expect(throttled).toBeInstanceOf(ThrottledError);
    expect((throttled as ThrottledError).retryAfterMs).toBe(3000);
    expect(azureError({ statusCode: 403, message: 'does not have secrets get permission' }, 'k')).toBeInstanceOf(PermissionDeniedError);
    expect(azureError({ name: 'AuthenticationError', message: 'AADSTS7000215: Invalid client secret provided.' }, 'k').message).toContain('AADSTS7000215');
    expect(azureError({ name: 'RestError', message: 'socket hang up' }, 'k').message).toBe('Azure Key Vault call for "k" failed: socket hang up');
  });
});
