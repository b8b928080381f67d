import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/runtime/workqueue.js';

describe('WorkQueue', () => {
  it('collapses repeated adds of one key', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never hands out a key that is being processed, and reruns it after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('b'); // 'a' is busy
    q.done('b');
    q.done(first!);
    expect(await q.get()).toBe('a');
  });

  it('serves urgent keys before routine ones, and promotes a routine key', async () => {
    const q = new WorkQueue();
    q.add('r1', 'routine');
    q.add('r2', 'routine');
    q.add('u1', 'urgent');
    q.add('r2', 'urgent');
    expect(await q.get()).toBe('u1');
    expect(await q.get()).toBe('r2');
    expect(await q.get()).toBe('r1');
    expect(q.length).toBe(0);
  });

  it('keeps the earliest of several delayed adds', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 10_000);
    q.addAfter('a', 20);
    const started = Date.now();
    expect(await q.get()).toBe('a');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('cancel drops a delayed add, shutdown releases waiters', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 20);
    q.cancel('a');
    const waiting = q.get();
    setTimeout(() => q.shutdown(), 60);
    expect(await waiting).toBeUndefined();
  });

  it('wakes a waiting worker on add', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
    q.add('x');
    expect(q.length).toBe(1);
  });
});
