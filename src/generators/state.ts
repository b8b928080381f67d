// Generator state: what each generator produced, when, and until when it
// stands, kept with the Secret it went into (an annotation on it), so a value
// survives operator restarts and failovers and is never in memory only. The
// annotation is encrypted (AES-256-GCM, key derived from the installation
// key): the values are secret, and Secret metadata travels further than
// Secret data (metadata-only watches, `kubectl get -o yaml` of a list).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { HmacKey } from '../secrets/data-hash.js';

export const GENERATOR_STATE_ANNOTATION = 'secretsync.dev/generator-state';

export interface GeneratedEntry {
  /** Which generator made it: kind/name, uid and generation (a changed spec generates anew). */
  source: string;
  /** When it was generated (epoch ms). */
  at: number;
  /** When a new value is due (refreshInterval, or before a token's or lease's end); undefined: never. */
  renewAt?: number;
  /** A Vault lease behind the values, revoked when they are replaced or no longer used. */
  leaseId?: string;
  /** When that lease ends (epoch ms): after it there is nothing left to revoke. */
  leaseEndsAt?: number;
  /** base64 values. */
  values: Record<string, string>;
}

export type GeneratorState = Record<string, GeneratedEntry>;

function keyOf(hmacKey: HmacKey): Buffer {
  return createHmac('sha256', hmacKey).update('secretsync generator state v1').digest();
}

export function encryptState(state: GeneratorState, hmacKey: HmacKey): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(hmacKey), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** The state in an annotation; empty when there is none or it cannot be read (another installation's key). */
export function decryptState(annotation: string | undefined, hmacKey: HmacKey): GeneratorState {
  if (!annotation?.startsWith('v1.')) return {};
  try {
    const raw = Buffer.from(annotation.slice(3), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keyOf(hmacKey), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as GeneratorState;
  } catch {
    return {};
  }
}

/** The annotation to write: the old one when the state is the same (a fresh IV would rewrite the Secret for nothing). */
export function stateAnnotation(state: GeneratorState, previous: string | undefined, hmacKey: HmacKey): string | undefined {
  if (Object.keys(state).length === 0) return undefined;
  if (previous && JSON.stringify(decryptState(previous, hmacKey)) === JSON.stringify(state)) return previous;
  return encryptState(state, hmacKey);
}
