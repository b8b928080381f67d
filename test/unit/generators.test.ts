import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYMBOLS, generatePassword } from '../../src/generators/password.js';
import { decryptState, encryptState, stateAnnotation, type GeneratorState } from '../../src/generators/state.js';

describe('Password generator', () => {
  it('meets its spec for any valid one: length, digits, symbols from the set, case, no repeats unless allowed', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.boolean(), fc.boolean(),
      (length, digits, symbols, noUpper, allowRepeat) => {
        fc.pre(digits + symbols <= length);
        const symbolCharacters = '-_.!';
        fc.pre(allowRepeat || (digits <= 10 && symbols <= symbolCharacters.length && length - digits - symbols <= (noUpper ? 26 : 52)));
        const p = generatePassword({ length, digits, symbols, symbolCharacters, noUpper, allowRepeat });
        expect(p).toHaveLength(length);
        expect(p.replace(/[^0-9]/g, '')).toHaveLength(digits);
        expect([...p].filter((c) => symbolCharacters.includes(c))).toHaveLength(symbols);
        if (noUpper) expect(p).not.toMatch(/[A-Z]/);
        if (!allowRepeat) expect(new Set(p).size).toBe(length);
      },
    ), { numRuns: 300 });
  });

  it("defaults as ESO's: 24 characters, a quarter digits and a quarter symbols from ESO's set", () => {
    const p = generatePassword({});
    expect(p).toHaveLength(24);
    expect(p.replace(/[^0-9]/g, '')).toHaveLength(6);
    expect([...p].filter((c) => DEFAULT_SYMBOLS.includes(c))).toHaveLength(6);
  });

  it('a spec that cannot be met is a clear error, not a short password', () => {
    expect(() => generatePassword({ length: 20, symbols: 3, symbolCharacters: '-_', digits: 0 })).toThrow('not enough distinct symbols for length 20 without allowRepeat');
    expect(generatePassword({ length: 20, symbols: 3, symbolCharacters: '-_', digits: 0, allowRepeat: true })).toHaveLength(20);
  });

  it('does not repeat itself', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generatePassword({ length: 16 })));
    expect(seen.size).toBe(1000);
  });
});

describe('generator state', () => {
  const key = randomBytes(32);
  const state: GeneratorState = { 'dataFrom[0]': { source: 'Password/pw@uid:1', at: 1, values: { password: Buffer.from('s3cret-value').toString('base64') } } };

  it('round-trips under the installation key, and reveals nothing without it', () => {
    const sealed = encryptState(state, key);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('s3cret');
    expect(sealed).not.toContain(state['dataFrom[0]']!.values.password);
    expect(decryptState(sealed, key)).toEqual(state);
    expect(decryptState(sealed, randomBytes(32))).toEqual({});
    expect(decryptState(`${sealed.slice(0, -2)}AA`, key)).toEqual({});
    expect(decryptState(undefined, key)).toEqual({});
  });

  it('keeps the annotation byte for byte while the state is the same (no rewrite of the Secret)', () => {
    const sealed = encryptState(state, key);
    expect(stateAnnotation(structuredClone(state), sealed, key)).toBe(sealed);
    const changed = { ...state, 'dataFrom[1]': { source: 'UUID/u@x:1', at: 2, values: {} } };
    const next = stateAnnotation(changed, sealed, key)!;
    expect(next).not.toBe(sealed);
    expect(decryptState(next, key)).toEqual(changed);
    expect(stateAnnotation({}, sealed, key)).toBeUndefined();
  });
});
