import { describe, expect, it } from 'vitest';
import { ReverseIndex } from '../../src/runtime/reverse-index.js';

/** The owners of `target`, sorted; ownerCount must agree with them. */
function owners(index: ReverseIndex, target: string): string[] {
  const list = [...index.ownersOf(target)].sort();
  expect(index.ownerCount(target)).toBe(list.length);
  return list;
}

describe('ReverseIndex', () => {
  it('finds the one owner, then both, then the one left', () => {
    const index = new ReverseIndex();
    index.set('es-1', 'secret-a');
    expect(owners(index, 'secret-a')).toEqual(['es-1']);
    index.set('es-2', 'secret-a');
    expect(owners(index, 'secret-a')).toEqual(['es-1', 'es-2']);
    index.remove('es-1');
    expect(owners(index, 'secret-a')).toEqual(['es-2']);
    index.set('es-3', 'secret-a');
    expect(owners(index, 'secret-a')).toEqual(['es-2', 'es-3']);
  });

  it('moves an owner that points somewhere else, and forgets empty targets', () => {
    const index = new ReverseIndex();
    index.set('es-1', 'secret-a');
    index.set('es-1', 'secret-b');
    expect(owners(index, 'secret-a')).toEqual([]);
    expect(owners(index, 'secret-b')).toEqual(['es-1']);
    index.remove('es-1');
    index.remove('es-1');
    expect(owners(index, 'secret-b')).toEqual([]);
  });
});
