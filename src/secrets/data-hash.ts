// The keyed hash written to each managed Secret. It lets an unchanged refresh
// skip its write and lets drift be detected from the Secret alone. It is an
// HMAC with a per-installation key, never a plain hash of secret values.
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The installation key; a KeyObject, made once, saves re-importing the key on every hash. */
export type HmacKey = KeyObject | Uint8Array;

export function dataHash(key: HmacKey, type: string, data: Record<string, Uint8Array>): string {
  const mac = createHmac('sha256', key);
  mac.update(`type\0${type}\0`);
  for (const name of Object.keys(data).sort()) {
    const value = data[name]!;
    mac.update(`${name}\0${value.length}\0`);
    mac.update(value);
  }
  return `hmac-sha256:${mac.digest('base64url')}`;
}

/** Bytes per key as a Secret's base64 data. */
export function encodeSecretData(data: Record<string, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v).toString('base64');
  return out;
}

/** The Secret's base64 data decoded to bytes. */
export function decodeSecretData(data: Record<string, string> | undefined): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

export function sameHash(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
