// What a PushSecret writes: one value per remote key. Entries with a
// property that share a remote key make one JSON object (one write); an
// entry without secretKey pushes the whole Secret as a JSON object. Values
// are never part of an error message.
import { PushReason } from '../api/reasons.js';
import type { PushSecretSpec } from '../api/types.js';
import { SyncError } from './sync-error.js';

export function pushPlan(spec: PushSecretSpec, data: Record<string, Uint8Array>): Map<string, Uint8Array> {
  const whole = new Map<string, Uint8Array>();
  const objects = new Map<string, Record<string, string>>();
  const text = (key: string) => Buffer.from(data[key]!).toString('utf8');
  for (const [i, entry] of spec.data.entries()) {
    const { secretKey, remoteRef } = entry.match;
    const where = `data[${i}]`;
    if (secretKey !== undefined && !Object.hasOwn(data, secretKey)) {
      throw new SyncError(PushReason.SourceNotFound, `${where}: the Secret has no key "${secretKey}"`, true);
    }
    if (remoteRef.property === undefined) {
      if (whole.has(remoteRef.remoteKey) || objects.has(remoteRef.remoteKey)) throw conflict(where, remoteRef.remoteKey);
      const value = secretKey === undefined
        ? new TextEncoder().encode(JSON.stringify(Object.fromEntries(Object.keys(data).sort().map((k) => [k, text(k)]))))
        : data[secretKey]!;
      whole.set(remoteRef.remoteKey, value);
      continue;
    }
    if (whole.has(remoteRef.remoteKey)) throw conflict(where, remoteRef.remoteKey);
    const object = objects.get(remoteRef.remoteKey) ?? {};
    if (Object.hasOwn(object, remoteRef.property)) {
      throw new SyncError(PushReason.InvalidPush, `${where}: property "${remoteRef.property}" of "${remoteRef.remoteKey}" is written by an earlier entry too`, false);
    }
    object[remoteRef.property] = text(secretKey!);
    objects.set(remoteRef.remoteKey, object);
  }
  for (const [key, object] of objects) {
    const sorted = Object.fromEntries(Object.keys(object).sort().map((k) => [k, object[k]]));
    whole.set(key, new TextEncoder().encode(JSON.stringify(sorted)));
  }
  return whole;
}

function conflict(where: string, remoteKey: string): SyncError {
  return new SyncError(PushReason.InvalidPush, `${where}: "${remoteKey}" is written whole by one entry and by another entry too`, false);
}
