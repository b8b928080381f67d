// decodingStrategy: how a fetched value is decoded before it is stored.
export type DecodingStrategy = 'None' | 'Base64' | 'Base64URL' | 'Auto';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function isEncoded(text: string, alphabet: RegExp, padded: boolean): boolean {
  if (text.length === 0 || !alphabet.test(text)) return false;
  return padded ? text.length % 4 === 0 : text.length % 4 !== 1;
}

export class DecodingError extends Error {
  override readonly name = 'DecodingError';
}

export function decodeValue(value: Uint8Array, strategy: DecodingStrategy | undefined, key: string): Uint8Array {
  if (!strategy || strategy === 'None') return value;
  const text = Buffer.from(value).toString('latin1').trim();
  if (strategy === 'Base64') {
    if (!isEncoded(text, BASE64, true)) throw new DecodingError(`value of "${key}" is not valid base64`);
    return Buffer.from(text, 'base64');
  }
  if (strategy === 'Base64URL') {
    if (!isEncoded(text, BASE64URL, false)) throw new DecodingError(`value of "${key}" is not valid base64url`);
    return Buffer.from(text, 'base64url');
  }
  if (isEncoded(text, BASE64, true)) return Buffer.from(text, 'base64');
  if (isEncoded(text, BASE64URL, false)) return Buffer.from(text, 'base64url');
  return value;
}
