import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/runtime/line-splitter.js';

describe('LineSplitter', () => {
  it('gives back every complete line, in order, however the text is cut', () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'é', '{', '"', ' ', '\r', '😀') });
    fc.assert(
      fc.property(fc.array(line), line, fc.array(fc.nat()), (lines, unfinished, cuts) => {
        const text = lines.map((l) => `${l}\n`).join('') + unfinished;
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const splitter = new LineSplitter();
        const got: string[] = [];
        let from = 0;
        for (const to of [...at, text.length]) {
          got.push(...splitter.push(text.slice(from, to)));
          from = to;
        }
        expect(got).toEqual(lines);
        // The unfinished line comes with the newline that ends it.
        expect(splitter.push('\n')).toEqual([unfinished]);
      }),
      { numRuns: 500 },
    );
  });
});
