import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/runtime/log.js';
import { lazyChild } from '../../src/runtime/lazy-logger.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const root = createLogger(level, stream);
  return { root, lines, childSpy: vi.spyOn(root, 'child') };
}

describe('lazyChild', () => {
  it('builds no child for lines below the level, nor for level checks', () => {
    const { root, lines, childSpy } = capture('warn');
    const log = lazyChild(root, { key: 'ns/a' });
    log.debug({ why: 'spec changed' }, 'syncing');
    log.info('not written');
    expect(log.isLevelEnabled('debug')).toBe(false);
    expect(log.isLevelEnabled('warn')).toBe(true);
    const nested = lazyChild(log, { store: 'SecretStore/ns/s' });
    nested.debug('not written either');
    expect(childSpy).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('writes enabled lines with its bindings, and its children with theirs, through redaction', async () => {
    const { root, lines, childSpy } = capture('warn');
    const log = lazyChild(root, { controller: 'ExternalSecret', key: 'ns/a' });
    const nested = lazyChild(log, { store: 'SecretStore/ns/s' });
    nested.warn({ password: 'hunter2' }, 'call failed');
    log.error('reconcile failed');
    log.warn('again');
    await new Promise((r) => setImmediate(r));
    expect(lines.map(({ controller, key, store, password, msg }) => ({ controller, key, store, password, msg }))).toEqual([
      { controller: 'ExternalSecret', key: 'ns/a', store: 'SecretStore/ns/s', password: '[redacted]', msg: 'call failed' },
      { controller: 'ExternalSecret', key: 'ns/a', store: undefined, password: undefined, msg: 'reconcile failed' },
      { controller: 'ExternalSecret', key: 'ns/a', store: undefined, password: undefined, msg: 'again' },
    ]);
    // One child for each lazy logger, made once (pino children share the root's child()).
    expect(childSpy).toHaveBeenCalledTimes(2);
  });

  it('follows a level raised on it', () => {
    const { root, lines } = capture('warn');
    const log = lazyChild(root, { key: 'ns/a' });
    log.level = 'debug';
    log.debug('now written');
    expect(lines.map((l) => l.msg)).toEqual(['now written']);
    expect(root.level).toBe('warn');
  });
});
