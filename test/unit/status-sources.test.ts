import { describe, expect, it } from 'vitest';
import { recordSource, recordedSources } from '../../src/secrets/status-sources.js';

describe('status.sources', () => {
  it('records a lease end as the expiry, and the rotation date', () => {
    const at = new Date('2026-11-24T10:00:00Z');
    expect(recordSource({ key: 'a', version: '3', leaseEndsAt: at, expiresAt: new Date(0) })).toEqual({ key: 'a', version: '3', expiresAt: at.toISOString(), rotatesAt: undefined });
    expect(recordSource({ key: 'b', rotatesAt: at })).toEqual({ key: 'b', version: undefined, expiresAt: undefined, rotatesAt: at.toISOString() });
  });

  it('gives back the versioned sources with when they were recorded; nothing without a readable refreshTime', () => {
    const refreshTime = '2026-11-24T10:00:00Z';
    const sources = [{ key: 'a', version: '1', rotatesAt: '2026-11-25T10:00:00Z' }, { key: 'b' }, { key: 'c', version: '2', rotatesAt: 'soon' }];
    expect(recordedSources({ refreshTime, sources })).toEqual([
      { key: 'a', version: '1', rotatesAt: new Date('2026-11-25T10:00:00Z'), at: Date.parse(refreshTime) },
      { key: 'c', version: '2', rotatesAt: undefined, at: Date.parse(refreshTime) },
    ]);
    expect(recordedSources({ sources })).toEqual([]);
    expect(recordedSources({ refreshTime: 'yesterday', sources })).toEqual([]);
    expect(recordedSources(undefined)).toEqual([]);
  });
});
