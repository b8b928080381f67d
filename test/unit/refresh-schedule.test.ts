import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RefreshBeats } from '../../src/controllers/externalsecret/refresh-beat.js';
import { FLOOR_MS, nextRefresh, ROTATION_GRACE_MS } from '../../src/controllers/externalsecret/refresh-schedule.js';
import { expiryMargin, reusableUntil } from '../../src/providers/freshness.js';

const now = Date.parse('2026-01-01T00:00:00Z');
const noJitter = () => 0;
const maxJitter = () => 0.9999;

describe('nextRefresh', () => {
  it('uses the interval when the provider says nothing', () => {
    expect(nextRefresh(3_600_000, [{ key: 'a' }], now, noJitter)).toEqual({ delayMs: 3_600_000, cause: 'interval', expired: [] });
  });

  it('adds at most 10% jitter (capped at 5 min) to the interval', () => {
    expect(nextRefresh(60_000, [], now, maxJitter).delayMs).toBe(60_000 + 5_999);
    expect(nextRefresh(24 * 3_600_000, [], now, maxJitter).delayMs).toBeLessThanOrEqual(24 * 3_600_000 + 300_000);
  });

  it('refreshes before a lease ends, even with full jitter', () => {
    const leaseEndsAt = new Date(now + 90_000);
    const s = nextRefresh(3_600_000, [{ key: 'lease', leaseEndsAt }], now, maxJitter);
    expect(s.cause).toBe('lease');
    expect(now + s.delayMs!).toBeLessThan(leaseEndsAt.getTime());
    expect(s.delayMs).toBeGreaterThanOrEqual(60_000); // margin is a third of 90 s
  });

  it('refreshes before a stored expiry date that is still ahead, in case the value was replaced', () => {
    const expiresAt = new Date(now + 90_000);
    const s = nextRefresh(3_600_000, [{ key: 'cert', expiresAt }], now, maxJitter);
    expect(s.cause).toBe('expiry');
    expect(now + s.delayMs!).toBeLessThan(expiresAt.getTime());
  });

  it('refreshes just after a scheduled rotation', () => {
    const rotatesAt = new Date(now + 600_000);
    const s = nextRefresh(3_600_000, [{ key: 'db', rotatesAt }], now, noJitter);
    expect(s).toEqual({ delayMs: 600_000 + ROTATION_GRACE_MS, cause: 'rotation', expired: [] });
  });

  it('interval 0 with no expiry means never again; an expiry still schedules', () => {
    expect(nextRefresh(0, [{ key: 'a' }], now)).toEqual({ expired: [] });
    expect(nextRefresh(0, [{ key: 'a', expiresAt: new Date(now + 3_600_000) }], now).cause).toBe('expiry');
  });

  it('a stored expiry date in the past is reported and falls back to the interval (fetching again gives the same value)', () => {
    const stale = { key: 'a', expiresAt: new Date(now - 1000) };
    expect(nextRefresh(3_600_000, [stale], now, noJitter)).toEqual({ delayMs: 3_600_000, cause: 'interval', expired: [stale] });
    expect(nextRefresh(0, [stale], now, noJitter)).toEqual({ expired: [stale] });
  });

  it('a lease that has already ended refreshes soon, but never sooner than the floor', () => {
    const s = nextRefresh(3_600_000, [{ key: 'a', leaseEndsAt: new Date(now - 1000) }], now, noJitter);
    expect(s).toMatchObject({ delayMs: FLOOR_MS, cause: 'lease' });
    // A shorter interval chosen by the user is its own floor.
    expect(nextRefresh(1000, [{ key: 'a', leaseEndsAt: new Date(now - 1000) }], now, noJitter).delayMs).toBe(1000);
  });

  it('a rotation date long past schedules nothing (no refresh loop while a rotation is overdue)', () => {
    expect(nextRefresh(3_600_000, [{ key: 'a', rotatesAt: new Date(now - 3_600_000) }], now, noJitter).cause).toBe('interval');
  });

  it('a shared answer stops being shared before the refresh its dates schedule', () => {
    const leaseEndsAt = new Date(now + 9_000);
    const refresh = nextRefresh(3_600_000, [{ key: 'a', leaseEndsAt }], now, noJitter).delayMs!;
    expect(reusableUntil([{ key: 'a', leaseEndsAt }], now)).toBeLessThan(now + refresh);
    expect(reusableUntil([{ key: 'a' }, { key: 'b', expiresAt: new Date(now - 1) }], now)).toBe(Infinity);
  });

  it('margin is bounded', () => {
    expect(expiryMargin(1000)).toBe(5000);
    expect(expiryMargin(30 * 24 * 3_600_000)).toBe(600_000);
  });
});

describe('RefreshBeats', () => {
  const I = 90_000;

  it('ExternalSecrets synced within three quarters of an interval of the first share their first refresh', () => {
    const beats = new RefreshBeats();
    // The beat starts an eighth of an interval before the first sync that asks (11.25 s here), so a
    // sync that started a little earlier and finished later (-5 s) still shares it.
    const due = [0, -5_000, 1, 20_000, 55_000, 56_250].map((t) => beats.dueAt('ns/store', I, now + t));
    expect(new Set(due)).toEqual(new Set([now + I - I / 8]));
  });

  it('a refresh is due between a quarter and a whole interval after the sync, and on a tick from the second refresh on', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 10 * I }), { minLength: 1, maxLength: 50 }), (offsets) => {
      const beats = new RefreshBeats();
      const start = now + offsets[0]! - I / 8;
      for (const offset of offsets) {
        const synced = now + offset;
        const first = beats.dueAt('s', I, synced);
        expect(first - synced).toBeGreaterThanOrEqual(I / 4);
        expect(first - synced).toBeLessThanOrEqual(I);
        const second = beats.dueAt('s', I, first);
        expect(Math.abs((second - start) % I)).toBe(0);
        expect(second - first).toBeGreaterThanOrEqual(I / 4);
        expect(second - first).toBeLessThanOrEqual(I);
      }
    }));
  });

  it('each store and interval has its own beat', () => {
    const beats = new RefreshBeats();
    expect(beats.dueAt('a', I, now)).toBe(now + I - I / 8);
    expect(beats.dueAt('b', I, now + 30_000)).toBe(now + 30_000 + I - I / 8);
    expect(beats.dueAt('a', 60_000, now + 30_000)).toBe(now + 30_000 + 60_000 - 7_500);
  });

  it('nextRefresh takes the beat as it is: no jitter, and a quarter interval is not cut to the floor', () => {
    expect(nextRefresh(I, [{ key: 'a' }], now, maxJitter, now + I)).toEqual({ delayMs: I, cause: 'interval', expired: [] });
    expect(nextRefresh(8_000, [], now, maxJitter, now + 2_000).delayMs).toBe(2_000);
    // A lease ending before the beat still wins.
    expect(nextRefresh(I, [{ key: 'a', leaseEndsAt: new Date(now + 30_000) }], now, noJitter, now + I).cause).toBe('lease');
  });
});
