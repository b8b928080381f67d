import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DelayedKeys } from '../../src/runtime/delayed-keys.js';

describe('DelayedKeys', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('hands out keys in due order with their values', () => {
    const due: string[] = [];
    const keys = new DelayedKeys<string>((key, value) => due.push(`${key}:${value}`));
    keys.schedule('c', 300, 'z');
    keys.schedule('a', 100, 'x');
    keys.schedule('b', 200, 'y');
    vi.advanceTimersByTime(150);
    expect(due).toEqual(['a:x']);
    vi.advanceTimersByTime(200);
    expect(due).toEqual(['a:x', 'b:y', 'c:z']);
    expect(keys.size).toBe(0);
  });

  it('a reschedule replaces the earlier time, a cancel drops the key', () => {
    const due: string[] = [];
    const keys = new DelayedKeys<null>((key) => due.push(key));
    keys.schedule('a', 100, null);
    keys.schedule('a', 500, null);
    keys.schedule('b', 100, null);
    keys.cancel('b');
    vi.advanceTimersByTime(400);
    expect(due).toEqual([]);
    expect(keys.dueAt('a')).toBe(500);
    vi.advanceTimersByTime(100);
    expect(due).toEqual(['a']);
  });

  it('sheds the stale entries of many reschedules and still fires each key once, at its last time', () => {
    const fired: Array<[string, number]> = [];
    const keys = new DelayedKeys<null>((key) => fired.push([key, Date.now()]));
    for (let i = 0; i < 5000; i++) {
      keys.schedule('a', 1000 + (i % 7), null);
      keys.schedule('b', 2000 + (i % 5), null);
    }
    keys.schedule('a', 1500, null);
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([
      ['a', 1500],
      ['b', 2004],
    ]);
  });

  it('waits past the 24.8-day limit of one timer instead of firing at once', () => {
    const due: string[] = [];
    const keys = new DelayedKeys<null>((key) => due.push(key));
    const sixtyDays = 60 * 86_400_000;
    keys.schedule('later', sixtyDays, null);
    vi.advanceTimersByTime(sixtyDays - 1);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['later']);
  });

  it('fires every key once, at its last scheduled time, whatever the order of schedules and cancels', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), key: fc.integer({ min: 0, max: 30 }), at: fc.integer({ min: 0, max: 5000 }) }),
      fc.record({ kind: fc.constant('cancel' as const), key: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 500 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        vi.setSystemTime(0);
        vi.clearAllTimers();
        const fired: Array<[string, number]> = [];
        const keys = new DelayedKeys<null>((key) => fired.push([key, Date.now()]));
        const expected = new Map<string, number>();
        const check = () => {
          for (const [key, at] of fired) {
            expect(expected.get(key)).toBe(at);
            expect(at).toBeLessThanOrEqual(Date.now());
            expected.delete(key);
          }
          fired.length = 0;
          for (const at of expected.values()) expect(at).toBeGreaterThan(Date.now());
        };
        for (const o of ops) {
          const now = Date.now();
          if (o.kind === 'schedule') {
            // Times already past fire at the next tick; the model only schedules ahead.
            keys.schedule(String(o.key), now + 1 + o.at, null);
            expected.set(String(o.key), now + 1 + o.at);
          } else if (o.kind === 'cancel') {
            keys.cancel(String(o.key));
            expected.delete(String(o.key));
          } else {
            vi.advanceTimersByTime(o.ms);
            check();
          }
        }
        vi.advanceTimersByTime(10_000);
        check();
        expect(expected.size).toBe(0);
        expect(keys.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
