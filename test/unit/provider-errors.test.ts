// Provider failures become typed errors with messages that name keys and servers, never values.
import { describe, expect, it } from 'vitest';
import { awsError } from '../../src/providers/aws/client.js';
import NodeVault from 'node-vault';
import { Reason } from '../../src/api/reasons.js';
import { NotFoundError, PermissionDeniedError, ProviderTimeoutError, StoreConfigError, ThrottledError, providerFailure } from '../../src/providers/errors.js';
import { VaultHttp } from '../../src/providers/vault/http.js';
import { caBundlePem } from '../../src/providers/vault/provider.js';
import { RegexpError } from '../../src/util/linear-regexp.js';

describe('vault errors', () => {
  const server = 'https://vault.example:8200';
  it.each([
    [{ response: { statusCode: 404 } }, NotFoundError, 'remote secret "apps/db" not found'],
    [{ response: { statusCode: 403 } }, PermissionDeniedError, 'permission denied reading "apps/db"'],
    [{ response: { statusCode: 429 } }, ThrottledError, 'vault at https://vault.example:8200 is rate limiting requests (HTTP 429)'],
    [{ code: 'ECONNABORTED' }, ProviderTimeoutError, 'vault at https://vault.example:8200 did not answer for "apps/db" (ECONNABORTED)'],
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
    [new Error('boom'), Reason.ProviderError, 'error', true],
  ])('%s', (err, reason, metric, retry) => {
    expect(providerFailure(err)).toEqual({ reason, metric, retry });
  });
});
