// Property-based tests for the pure mappings between fetched values and Secret keys.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../src/secrets/decoding.js';
import { applyRewrites, toSecretKey } from '../../src/secrets/rewrite.js';
import { SyncError } from '../../src/secrets/sync-error.js';
import { dataHash } from '../../src/secrets/data-hash.js';

const VALID_KEY = /^[-._a-zA-Z0-9]+$/;
const keyArb = fc.stringMatching(/^[-._a-zA-Z0-9]{1,30}$/).filter((k) => k !== '.' && k !== '..');
const enc = (s: string) => new TextEncoder().encode(s);

describe('decodingStrategy', () => {
  it('Base64 and Base64URL round-trip any bytes exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (raw) => {
        const b64 = enc(Buffer.from(raw).toString('base64'));
        const b64url = enc(Buffer.from(raw).toString('base64url'));
        if (raw.length > 0) {
          expect(Buffer.from(decodeValue(b64, 'Base64', 'k')).equals(Buffer.from(raw))).toBe(true);
          expect(Buffer.from(decodeValue(b64url, 'Base64URL', 'k')).equals(Buffer.from(raw))).toBe(true);
          expect(Buffer.from(decodeValue(b64, 'Auto', 'k')).equals(Buffer.from(raw))).toBe(true);
        }
        expect(decodeValue(raw, 'None', 'k')).toBe(raw);
      }),
    );
  });

  it('Base64 refuses what is not base64, and never echoes it', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !/^[A-Za-z0-9+/]*={0,2}$/.test(s.trim()) || s.trim().length % 4 !== 0 || s.trim() === ''), (s) => {
        try {
          decodeValue(enc(s), 'Base64', 'the-key');
          return false;
        } catch (err) {
          return (err as Error).message === 'value of "the-key" is not valid base64';
        }
      }),
    );
  });

  it('Auto leaves text that is not base64 alone', () => {
    fc.assert(fc.property(fc.string({ maxLength: 64 }).filter((s) => /[^A-Za-z0-9+/=_-]/.test(s.trim())), (s) => {
      expect(decodeValue(enc(s), 'Auto', 'k')).toEqual(enc(s));
    }));
  });
});

describe('key mapping', () => {
  it('toSecretKey always yields a valid key of the same length, and keeps valid keys', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 100 }), (name) => {
      const key = toSecretKey(name);
      return VALID_KEY.test(key) && key !== '.' && key !== '..' && key.length === name.length;
    }));
    fc.assert(fc.property(keyArb, (k) => toSecretKey(k) === k));
  });

  it('an injective rewrite keeps every value under its new key', async () => {
    await fc.assert(fc.asyncProperty(fc.dictionary(keyArb, fc.string().map(enc), { maxKeys: 20 }), async (values) => {
      const out = await applyRewrites(values, [{ regexp: { source: '^(.*)$', target: 'PREFIX_$1' } }]);
      expect(Object.keys(out).sort()).toEqual(Object.keys(values).map((k) => `PREFIX_${k}`).sort());
      for (const [k, v] of Object.entries(values)) expect(out[`PREFIX_${k}`]).toBe(v);
    }));
  });

  it('a rewrite that maps two keys to one is an error naming both, never a silent overwrite', async () => {
    await fc.assert(fc.asyncProperty(fc.uniqueArray(keyArb, { minLength: 2, maxLength: 10 }), async (keys) => {
      const values = Object.fromEntries(keys.map((k) => [k, enc(k)]));
      try {
        await applyRewrites(values, [{ regexp: { source: '^.*$', target: 'same' } }]);
        return false;
      } catch (err) {
        return err instanceof SyncError && err.reason === 'InvalidData' && /maps both ".*" and ".*" to key "same"/.test(err.message);
      }
    }));
  });

  it('key transforms render the key through a template', async () => {
    const out = await applyRewrites({ 'db-password': enc('x') }, [{ transform: { template: '{{ value | upper | replace: "-", "_" }}' } }]);
    expect(Object.keys(out)).toEqual(['DB_PASSWORD']);
  });
});

describe('data hash', () => {
  it('is keyed, order-independent and sensitive to any change', () => {
    fc.assert(fc.property(fc.dictionary(keyArb, fc.uint8Array({ maxLength: 32 }), { minKeys: 1, maxKeys: 8 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (data, key) => {
      const reversed = Object.fromEntries(Object.entries(data).reverse());
      expect(dataHash(key, 'Opaque', reversed)).toBe(dataHash(key, 'Opaque', data));
      const otherKey = Uint8Array.from(key, (b, i) => (i === 0 ? b ^ 1 : b));
      expect(dataHash(otherKey, 'Opaque', data)).not.toBe(dataHash(key, 'Opaque', data));
      const first = Object.keys(data)[0]!;
      const changed = { ...data, [first]: Uint8Array.from([...data[first]!, 0]) };
      expect(dataHash(key, 'Opaque', changed)).not.toBe(dataHash(key, 'Opaque', data));
      expect(dataHash(key, 'kubernetes.io/tls', data)).not.toBe(dataHash(key, 'Opaque', data));
    }));
  });
});
