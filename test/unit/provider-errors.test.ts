// Provider failures become typed errors with messages that name keys and servers, never values.
import { describe, expect, it } from 'vitest';
import { awsError } from '../../src/providers/aws/client.js';
import { NotFoundError, PermissionDeniedError, ThrottledError } from '../../src/providers/errors.js';
import { caBundlePem } from '../../src/providers/vault/provider.js';
import { vaultError } from '../../src/providers/vault/client.js';

describe('vault errors', () => {
  const server = 'https://vault.example:8200';
  it.each([
    [{ response: { statusCode: 404 } }, NotFoundError, 'remote secret "apps/db" not found'],
    [{ response: { statusCode: 403 } }, PermissionDeniedError, 'permission denied reading "apps/db"'],
    [{ response: { statusCode: 503 } }, Error, 'vault at https://vault.example:8200 is sealed or unavailable'],
    [{ code: 'ECONNREFUSED' }, Error, 'cannot reach vault at https://vault.example:8200 (ECONNREFUSED)'],
    [{ response: { statusCode: 500 }, message: 'internal error\nstack' }, Error, 'vault request for "apps/db" failed with HTTP 500: internal error'],
  ])('%j', (err, type, message) => {
    const mapped = vaultError(err, 'apps/db', server);
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
