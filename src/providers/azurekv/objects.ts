// How a remoteRef key names a Key Vault object: `secret/<name>` (the
// default, also a bare name), `cert/<name>` or `key/<name>`.
import { NotFoundError } from '../errors.js';

export type ObjectKind = 'secret' | 'cert' | 'key';

export interface ObjectRef {
  kind: ObjectKind;
  name: string;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;

export function parseObjectRef(key: string): ObjectRef {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? 'secret' : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== 'secret' && prefix !== 'cert' && prefix !== 'key') {
    throw new NotFoundError(key, `"${prefix}/" is not a Key Vault object type (use secret/, cert/ or key/)`);
  }
  if (!NAME.test(name)) throw new NotFoundError(key, 'Key Vault object names are 1-127 letters, digits and dashes');
  return { kind: prefix, name };
}

/** The PEM CERTIFICATE blocks of a certificate's PEM secret (leaf first, chain after), without its private key. */
export function certificateChain(pem: string): string | undefined {
  const blocks = pem.replaceAll('\r\n', '\n').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return blocks ? `${blocks.join('\n')}\n` : undefined;
}

/** ISO 8601 duration (P1Y2M10DT2H30M, P90D, P4W) added to a date. */
export function addIsoDuration(from: Date, duration: string, sign: 1 | -1 = 1): Date | undefined {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration);
  if (!m || duration === 'P' || duration.endsWith('T')) return undefined;
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((x) => sign * Number(x ?? 0)) as [number, number, number, number, number, number, number];
  const out = new Date(from);
  out.setUTCFullYear(out.getUTCFullYear() + y, out.getUTCMonth() + mo, out.getUTCDate() + 7 * w + d);
  out.setTime(out.getTime() + ((h * 60 + mi) * 60 + s) * 1000);
  return out;
}
