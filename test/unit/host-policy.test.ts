// The SSRF guard's address classification and endpoint extraction, on
// literal addresses only: nothing here resolves a name or opens a socket.
import { describe, expect, it } from 'vitest';
import type { AnyStore } from '../../src/api/types.js';
import { StoreConfigError } from '../../src/providers/errors.js';
import { checkGeneratorHosts, checkStoreHosts, parseHostPolicy, storeEndpoints } from '../../src/providers/host-policy.js';
import { generatorEndpoints } from '../../src/generators/generators.js';
import type { Generator } from '../../src/api/types.js';

const policy = parseHostPolicy('loopback,link-local,metadata,unspecified,10.20.0.0/16');
const store = (provider: AnyStore['spec']['provider'], namespace = 'team-a') => ({ metadata: { name: 's', namespace }, spec: { provider } }) as AnyStore;

describe('host policy', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.0.0.2', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.20.3.4', '10.20.0.0/16'],
  ])('refuses %s (%s)', (address, range) => expect(policy.refuses(address)).toBe(range));

  it.each(['10.21.0.1', '8.8.8.8', '2001:db8::1', '172.16.0.1', '192.168.1.1'])('allows %s', (address) => expect(policy.refuses(address)).toBeUndefined());

  it('refuses what it cannot read', () => {
    expect(() => parseHostPolicy('link-local,intranet')).toThrow('"intranet" is neither a named range');
    expect(() => parseHostPolicy('10.0.0.0/33')).toThrow('invalid prefix length');
    expect(parseHostPolicy('').denied).toEqual([]);
  });

  it('finds each provider endpoint in a store spec', () => {
    expect(storeEndpoints(store({ vault: { server: 'https://[::1]:8200', auth: { tokenSecretRef: { name: 't', key: 'k' } } } }))).toEqual([{ path: 'spec.provider.vault.server', host: '::1' }]);
    expect(storeEndpoints(store({ gcpsm: { projectID: 'p', endpoint: '169.254.169.254:443' } }))).toEqual([{ path: 'spec.provider.gcpsm.endpoint', host: '169.254.169.254' }]);
    expect(storeEndpoints(store({ aws: { service: 'SecretsManager', region: 'eu-west-1' } }))).toEqual([]);
  });

  it('checks namespaced stores through the resolver, and exempts ClusterSecretStores', async () => {
    const resolveTo = (addresses: string[]) => () => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    const metadataByName = store({ azurekv: { vaultUrl: 'https://innocent.example', authType: 'ManagedIdentity' } });
    const err = await checkStoreHosts(metadataByName, policy, resolveTo(['93.184.216.34', '169.254.169.254'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toContain('spec.provider.azurekv.vaultUrl points at innocent.example (169.254.169.254), in the link-local range');
    await expect(checkStoreHosts(metadataByName, policy, resolveTo(['93.184.216.34']))).resolves.toBeUndefined();
    await expect(checkStoreHosts(store({ vault: { server: 'http://127.0.0.1:8200', auth: { tokenSecretRef: { name: 't', key: 'k' } } } }, ''), policy)).resolves.toBeUndefined();
    await expect(checkStoreHosts(metadataByName, undefined)).resolves.toBeUndefined();
  });

  it('applies to generator endpoints too: a tenant cannot aim ECR, Vault or ACR calls at a denied range', async () => {
    const policy = parseHostPolicy('link-local,private');
    const gen = (kind: string, spec: Record<string, unknown>) => ({ kind, metadata: { name: 'g', namespace: 'a' }, spec }) as unknown as Generator;
    expect(generatorEndpoints(gen('ECRAuthorizationToken', { region: 'x', endpoint: 'http://169.254.169.254/' }))).toEqual([{ path: 'spec.endpoint', url: 'http://169.254.169.254/' }]);
    expect(generatorEndpoints(gen('VaultDynamicSecret', { path: 'p', provider: { server: 'https://10.0.0.5:8200' } }))).toEqual([{ path: 'spec.provider.server', url: 'https://10.0.0.5:8200' }]);
    expect(generatorEndpoints(gen('ACRAccessToken', { registry: 'r.azurecr.io' }))).toEqual([{ path: 'spec.registry', url: 'https://r.azurecr.io' }]);
    expect(generatorEndpoints(gen('Password', {}))).toEqual([]);
    const refused = await checkGeneratorHosts([{ path: 'spec.endpoint', url: 'http://169.254.169.254/' }], policy).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreConfigError);
    expect((refused as Error).message).toBe('spec.endpoint points at 169.254.169.254, in the link-local range, which generators may not use (operator flag --deny-store-hosts link-local,private); ask the platform team');
    await expect(checkGeneratorHosts([{ path: 'spec.registry', url: 'https://93.184.216.34' }], policy)).resolves.toBeUndefined();
    await expect(checkGeneratorHosts([{ path: 'spec.registry', url: 'https://10.1.2.3' }], undefined)).resolves.toBeUndefined();
  });
});
