// For the server's own unit tests: a stand-in ServiceAccount issuer (an RSA
// key, its JWKS and tokens shaped like the kube-apiserver's).
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { signJwt, type Claims } from './jwt.js';

export function fakeIssuer(issuer: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'kube-key-1';
  return {
    jwks: (): Promise<JsonWebKey[]> => Promise.resolve([{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }]),
    token(sub: string, claims: Partial<Claims> = {}): string {
      const now = Math.floor(Date.now() / 1000);
      return signJwt({ iss: issuer, sub, aud: ['api://AzureADTokenExchange'], iat: now, nbf: now, exp: now + 600, ...claims }, privateKey, { kid });
    },
  };
}
