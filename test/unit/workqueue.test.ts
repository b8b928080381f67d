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

  /** Takes every key queued now, in the order workers would get them. */
  async function drain(q: WorkQueue): Promise<string[]> {
    const order: string[] = [];
    while (q.length > 0) {
      const key = (await q.get())!;
      order.push(key);
      q.done(key);
    }
    return order;
  }

  it('serves namespaces in turn: one namespace\'s 10,000 waiting keys put another\'s new key second, not 10,001st', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 10_000; i++) q.add(`busy/es-${i}`);
    expect(await q.get()).toBe('busy/es-0');
    q.add('quiet/new');
    expect(await q.get()).toBe('busy/es-1');
    expect(await q.get()).toBe('quiet/new');
    expect(await q.get()).toBe('busy/es-2');
  });

  it('serves the stores of one namespace in turn, and keeps each store\'s own order', async () => {
    const stores: Record<string, string> = { 'ns/a1': 'a', 'ns/a2': 'a', 'ns/a3': 'a', 'ns/b1': 'b', 'ns/b2': 'b', 'other/c1': 'c' };
    const q = new WorkQueue((key) => stores[key]!);
    for (const key of Object.keys(stores)) q.add(key);
    expect(await drain(q)).toEqual(['ns/a1', 'other/c1', 'ns/b1', 'ns/a2', 'ns/b2', 'ns/a3']);
  });

  it('keeps urgent before routine across namespaces, and turns within each lane', async () => {
    const q = new WorkQueue();
    q.add('x/r1', 'routine');
    q.add('x/r2', 'routine');
    q.add('y/r1', 'routine');
    q.add('x/u1');
    q.add('x/u2');
    q.add('y/u1');
    // A promoted key leaves a stale routine entry that is skipped.
    q.add('x/r2');
    expect(await drain(q)).toEqual(['x/u1', 'y/u1', 'x/u2', 'x/r2', 'x/r1', 'y/r1']);
  });
});
