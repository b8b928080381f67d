import { describe, expect, it } from 'vitest';
import { expiryMargin, nextRefresh, ROTATION_GRACE_MS } from '../../src/controllers/externalsecret/refresh-schedule.js';

const now = Date.parse('2026-01-01T00:00:00Z');
const noJitter = () => 0;
const maxJitter = () => 0.9999;

describe('nextRefresh', () => {
  it('uses the interval when the provider says nothing', () => {
    expect(nextRefresh(3_600_000, [{ key: 'a' }], now, noJitter)).toEqual({ delayMs: 3_600_000, cause: 'interval' });
  });

  it('adds at most 10% jitter (capped at 5 min) to the interval', () => {
    expect(nextRefresh(60_000, [], now, maxJitter).delayMs).toBe(60_000 + 5_999);
    expect(nextRefresh(24 * 3_600_000, [], now, maxJitter).delayMs).toBeLessThanOrEqual(24 * 3_600_000 + 300_000);
  });

  it('refreshes before an expiry that comes first, even with full jitter', () => {
    const expiresAt = new Date(now + 90_000);
    const s = nextRefresh(3_600_000, [{ key: 'lease', expiresAt }], now, maxJitter);
    expect(s.cause).toBe('expiry');
    expect(now + s.delayMs!).toBeLessThan(expiresAt.getTime());
    expect(s.delayMs).toBeGreaterThanOrEqual(60_000); // margin is a third of 90 s
  });

  it('refreshes just after a scheduled rotation', () => {
    const rotatesAt = new Date(now + 600_000);
    const s = nextRefresh(3_600_000, [{ key: 'db', rotatesAt }], now, noJitter);
    expect(s).toEqual({ delayMs: 600_000 + ROTATION_GRACE_MS, cause: 'rotation' });
  });

  it('interval 0 with no expiry means never again; an expiry still schedules', () => {
    expect(nextRefresh(0, [{ key: 'a' }], now)).toEqual({});
    expect(nextRefresh(0, [{ key: 'a', expiresAt: new Date(now + 3_600_000) }], now).cause).toBe('expiry');
  });

  it('an expiry in the past refreshes soon, not never', () => {
    expect(nextRefresh(3_600_000, [{ key: 'a', expiresAt: new Date(now - 1000) }], now).delayMs).toBe(1000);
  });

  it('margin is bounded', () => {
    expect(expiryMargin(1000)).toBe(5000);
    expect(expiryMargin(30 * 24 * 3_600_000)).toBe(600_000);
  });
});
