import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shareStrings, shared } from '../../src/runtime/shared-strings.js';

const sharedField = fc.constantFrom('apiVersion', 'kind', 'namespace', 'message', 'reason', 'key', 'other');

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
  });

  it('leaves the values of the shared fields as they were, past the pool limit', () => {
    const objects = fc.array(fc.dictionary(sharedField, fc.oneof(fc.string({ minLength: 10, maxLength: 140 }), fc.jsonValue())), { maxLength: 50 });
    fc.assert(
      fc.property(objects, (value) => {
        const copy = structuredClone(value);
        shareStrings(copy);
        expect(copy).toEqual(value);
      }),
      { numRuns: 300 },
    );
    const many = Array.from({ length: 10_000 }, (_, i) => ({ metadata: { namespace: `namespace-${i % 5000}` }, message: `message number ${i}` }));
    const copy = structuredClone(many);
    shareStrings(copy);
    expect(copy).toEqual(many);
  });

  it('shared() gives back the same text', () => {
    expect(shared('ns/name')).toBe('ns/name');
    expect(shared('1')).toBe('1');
    expect(shared('')).toBe('');
  });
});
