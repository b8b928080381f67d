// The SSRF guard's address classification and endpoint extraction, on
// literal addresses only: nothing here resolves a name or opens a socket.
import { describe, expect, it } from 'vitest';
import type { AnyStore } from '../../src/api/types.js';
import { StoreConfigError } from '../../src/providers/errors.js';
import { checkStoreHosts, parseHostPolicy, storeEndpoints } from '../../src/providers/host-policy.js';

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
    const resolveTo = (addresses: string[]) => () => Promise.resolve(addresses);
    const metadataByName = store({ azurekv: { vaultUrl: 'https://innocent.example', authType: 'ManagedIdentity' } });
    const err = await checkStoreHosts(metadataByName, policy, resolveTo(['93.184.216.34', '169.254.169.254'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toContain('spec.provider.azurekv.vaultUrl points at innocent.example (169.254.169.254), in the link-local range');
    await expect(checkStoreHosts(metadataByName, policy, resolveTo(['93.184.216.34']))).resolves.toBeUndefined();
    await expect(checkStoreHosts(store({ vault: { server: 'http://127.0.0.1:8200', auth: { tokenSecretRef: { name: 't', key: 'k' } } } }, ''), policy)).resolves.toBeUndefined();
    await expect(checkStoreHosts(metadataByName, undefined)).resolves.toBeUndefined();
  });
});
