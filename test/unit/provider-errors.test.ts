// Provider failures become typed errors with messages that name keys and servers, never values.
import { describe, expect, it } from 'vitest';
import { awsError } from '../../src/providers/aws/client.js';
import NodeVault from 'node-vault';
import { Reason } from '../../src/api/reasons.js';
import { NotFoundError, PermissionDeniedError, ProviderTimeoutError, StoreConfigError, ThrottledError, providerFailure } from '../../src/providers/errors.js';
import { VaultHttp } from '../../src/providers/vault/http.js';
import { valueToMap } from '../../src/providers/property.js';
import type { SecretStore } from '../../src/api/types.js';
import { caBundlePem } from '../../src/providers/ca-bundle.js';
import { conjurProvider } from '../../src/providers/conjur/provider.js';
import { vaultProvider } from '../../src/providers/vault/provider.js';
import { RegexpError } from '../../src/util/linear-regexp.js';
import { RemoteTooLargeError, readLimited, tooLargeAnswer } from '../../src/providers/response-limit.js';

describe('vault errors', () => {
  const server = 'https://vault.example:8200';
  it.each([
    [{ response: { statusCode: 404 } }, NotFoundError, 'remote secret "apps/db" not found'],
    [{ response: { statusCode: 403 } }, PermissionDeniedError, 'permission denied reading "apps/db"'],
    [{ response: { statusCode: 429 } }, ThrottledError, 'vault at https://vault.example:8200 is rate limiting requests (HTTP 429)'],
    [{ name: 'TimeoutError' }, ProviderTimeoutError, 'vault at https://vault.example:8200 did not answer for "apps/db" in time'],
    [{ name: 'Error', cause: { code: 'ECONNRESET' } }, Error, 'cannot reach vault at https://vault.example:8200 (ECONNRESET)'],
    [tooLargeAnswer('/v1/secret/data/apps/db'), RemoteTooLargeError, 'the provider\'s answer for "apps/db" is larger than 4 MiB; refused without reading the rest'],
    [{ response: { statusCode: 503 } }, Error, 'vault at https://vault.example:8200 is sealed or unavailable'],
    [{ code: 'ECONNREFUSED' }, Error, 'cannot reach vault at https://vault.example:8200 (ECONNREFUSED)'],
    [{ response: { statusCode: 500 }, message: 'internal error\nstack' }, Error, 'vault request for "apps/db" failed with HTTP 500: internal error'],
  ])('%j', (err, type, message) => {
    const mapped = new VaultHttp(NodeVault({ endpoint: server }), server).error(err, 'apps/db');
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.message).toBe(message);
  });

  it('caBundle accepts PEM or base64 PEM and refuses anything else', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(caBundlePem(pem)).toBe(pem);
    expect(caBundlePem(Buffer.from(pem).toString('base64'))).toBe(pem);
    expect(() => caBundlePem('not a certificate')).toThrow(/neither PEM nor base64-encoded PEM/);
  });

  it('vault and conjur stores with a caBundle that is not PEM are refused by validateStore, naming the provider', () => {
    const store = (provider: object) => ({ metadata: { name: 's', namespace: 'n' }, spec: { provider } }) as SecretStore;
    expect(vaultProvider.validateStore(store({ vault: { server: 'https://v', auth: {}, caBundle: 'nope' } }))).toEqual(['vault.caBundle is neither PEM nor base64-encoded PEM']);
    expect(conjurProvider.validateStore(store({ conjur: { url: 'https://c', auth: {}, caBundle: 'nope' } }))).toEqual(['conjur.caBundle is neither PEM nor base64-encoded PEM']);
    expect(conjurProvider.validateStore(store({ conjur: { url: 'https://c', auth: {} } }))).toEqual([]);
  });
});

describe('aws errors', () => {
  it.each([
    [{ name: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' }, NotFoundError, 'remote secret "db" not found'],
    [{ name: 'InvalidRequestException', message: "You can't perform this operation on the secret because it was marked for deletion." }, NotFoundError, 'remote secret "db" not found: it is scheduled for deletion'],
    [{ name: 'AccessDeniedException', message: 'User is not authorized' }, PermissionDeniedError, 'access denied to "db": User is not authorized'],
    [{ name: 'ThrottlingException', message: 'Rate exceeded' }, ThrottledError, 'AWS Secrets Manager is throttling requests (ThrottlingException)'],
    [{ name: '', $metadata: { httpStatusCode: 429 } }, ThrottledError, 'AWS Secrets Manager is throttling requests (HTTP 429)'],
  ])('%j', (err, type, message) => {
    const mapped = awsError(err, 'db');
    expect(mapped).toBeInstanceOf(type);
    expect(mapped.message).toBe(message);
  });
});

describe('the one failure map', () => {
  it.each([
    [new NotFoundError('k'), Reason.RemoteNotFound, 'not_found', true],
    [new PermissionDeniedError('no'), Reason.PermissionDenied, 'denied', true],
    [new ThrottledError('slow'), Reason.Throttled, 'throttled', true],
    [new ProviderTimeoutError('late'), Reason.ProviderTimeout, 'timeout', true],
    [new StoreConfigError('bad'), Reason.ProviderError, 'config', false],
    [new RegexpError('bad'), Reason.InvalidData, 'config', false],
    [new RemoteTooLargeError('big'), Reason.SecretTooLarge, 'too_large', true],
    [new Error('boom'), Reason.ProviderError, 'error', true],
  ])('%s', (err, reason, metric, retry) => {
    expect(providerFailure(err)).toEqual({ reason, metric, retry });
  });
});

describe('answer size limits', () => {
  async function* chunks(n: number, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < n; i++) yield await Promise.resolve(new Uint8Array(size));
  }

  it('reads an answer up to the limit whole', async () => {
    expect((await readLimited(chunks(4, 1024), 'k', 4096)).byteLength).toBe(4096);
  });

  it('stops reading the moment an answer passes the limit', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled++;
        yield await Promise.resolve(new Uint8Array(1024));
      }
    }
    await expect(readLimited(endless(), 'apps/db', 10 * 1024)).rejects.toThrow(RemoteTooLargeError);
    expect(pulled).toBe(11);
  });

  it('refuses a map of more keys than one value may spread into, naming the count and not the keys', () => {
    const big = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, 'v']));
    expect(() => valueToMap(new TextEncoder().encode(JSON.stringify(big)), 'apps/db')).toThrow('remote secret "apps/db" has 10001 keys, more than the 10000 one value may spread into');
  });
});
