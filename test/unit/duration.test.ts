import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/util/duration.js';

describe('Go durations', () => {
  it.each([
    ['0', 0],
    ['1h', 3_600_000],
    ['15m30s', 930_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1h0m0s', 3_600_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '1', '1d', 'h', '1h ', '-1s'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });

});
