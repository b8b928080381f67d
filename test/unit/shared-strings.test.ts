import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shareStrings } from '../../src/runtime/shared-strings.js';

describe('shareStrings', () => {
  it('leaves every value as it was (objects, arrays, long and index-like strings)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = structuredClone(value);
        shareStrings(copy);
        expect(copy).toEqual(value);
      }),
      { numRuns: 500 },
    );
    const obj = { a: ['1', 'x'.repeat(500), { b: '' }], c: null, d: 7 };
    shareStrings(obj);
    expect(obj).toEqual({ a: ['1', 'x'.repeat(500), { b: '' }], c: null, d: 7 });
  });
});
