// Just enough JWS for the test Entra ID and Key Vault: RS256 tokens signed
// and verified with node:crypto, and the JWK form of a public key. Written
// from RFC 7515/7517/7518; the Entra and Key Vault checks build on these.
import { createPublicKey, createSign, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown> & { exp?: number; nbf?: number; iat?: number; iss?: string; sub?: string; aud?: string | string[] };

export interface DecodedJwt {
  header: { alg?: string; kid?: string; x5t?: string; 'x5t#S256'?: string; typ?: string };
  claims: Claims;
  signedPart: string;
  signature: Buffer;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function signJwt(claims: Claims, key: KeyObject, header: Record<string, unknown> = {}): string {
  const signedPart = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(signedPart).sign(key);
  return `${signedPart}.${b64url(signature)}`;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWS compact token');
  return {
    header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as DecodedJwt['header'],
    claims: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Claims,
    signedPart: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2]!, 'base64url'),
  };
}

/** Checks the signature (RS256 or PS256, as Entra accepts for client assertions). */
export function signatureValid(jwt: DecodedJwt, key: KeyObject): boolean {
  if (jwt.header.alg === 'RS256') return createVerify('RSA-SHA256').update(jwt.signedPart).verify(key, jwt.signature);
  if (jwt.header.alg === 'PS256') {
    return createVerify('RSA-SHA256').update(jwt.signedPart).verify({ key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, jwt.signature);
  }
  return false;
}

/** Time claims, with the few seconds of skew real issuers allow. */
export function timeProblem(claims: Claims, now = Math.floor(Date.now() / 1000), skew = 60): string | undefined {
  if (typeof claims.exp !== 'number') return 'the token has no exp claim';
  if (claims.exp + skew < now) return `the token expired at ${new Date(claims.exp * 1000).toISOString()}`;
  if (typeof claims.nbf === 'number' && claims.nbf - skew > now) return 'the token is not valid yet (nbf)';
  return undefined;
}

export function audiences(claims: Claims): string[] {
  if (Array.isArray(claims.aud)) return claims.aud;
  return typeof claims.aud === 'string' ? [claims.aud] : [];
}

export function keyFromJwk(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}
