import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RetryRateLimiter, ExponentialBackoff } from '../../src/runtime/backoff.js';
import { TokenBucket } from '../../src/util/token-bucket.js';
import { Controller, type ReconcileContext } from '../../src/runtime/controller.js';
import { WorkQueue } from '../../src/runtime/workqueue.js';

function controller(workers: number, reconcile: (key: string, ctx: ReconcileContext) => Promise<void>) {
  const queue = new WorkQueue();
  const c = new Controller({ name: 't', queue, workers, retry: new RetryRateLimiter(new ExponentialBackoff(1000, 60_000), new TokenBucket(10, 100)), reconcile, log: pino({ level: 'silent' }) });
  return { c, queue };
}

describe('Controller', () => {
  it('a reconcile that releases its worker runs on while the worker takes the next key', async () => {
    let finishHung!: () => void;
    const hung = new Promise<void>((r) => (finishHung = r));
    const done: string[] = [];
    const { c, queue } = controller(1, async (key, ctx) => {
      if (key === 'a/hung') {
        ctx.release();
        await hung;
      }
      done.push(key);
    });
    c.start();
    queue.add('a/hung');
    queue.add('b/quick');
    await expect.poll(() => done).toEqual(['b/quick']);
    // The released key is still being processed: a new add waits for it instead of running twice.
    queue.add('a/hung');
    finishHung();
    await expect.poll(() => done).toEqual(['b/quick', 'a/hung', 'a/hung']);
    await c.stop();
  });

  it('stop() waits for released reconciles too, aborting them', async () => {
    let aborted = false;
    const { c, queue } = controller(1, async (_key, ctx) => {
      ctx.release();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted = true;
    });
    c.start();
    queue.add('a/x');
    await expect.poll(() => queue.length).toBe(0);
    await c.stop();
    expect(aborted).toBe(true);
  });
});

describe('Controller with sharding', () => {
  const sharded = (owned: Set<string>, reconcile: (key: string, ctx: ReconcileContext) => Promise<void>) => {
    const queue = new WorkQueue();
    const c = new Controller({
      name: 't', queue, workers: 2, retry: new RetryRateLimiter(new ExponentialBackoff(1000, 60_000), new TokenBucket(10, 100)), reconcile, log: pino({ level: 'silent' }),
      owns: (key) => owned.has(key.split('/')[0]!),
    });
    return { c, queue };
  };

  it('skips keys it does not own, and drain() aborts and waits for the ones in flight', async () => {
    const owned = new Set(['a', 'b']);
    const started: string[] = [];
    const ended: string[] = [];
    const { c, queue } = sharded(owned, async (key, ctx) => {
      started.push(key);
      if (key === 'a/slow') await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => setTimeout(resolve, 20)));
      ended.push(key);
    });
    c.start();
    queue.add('a/slow');
    queue.add('c/other');
    queue.add('b/quick');
    await expect.poll(() => ended).toEqual(['b/quick']);
    expect(started).not.toContain('c/other');
    // Giving up "a": the reconcile in flight is aborted, and drain resolves only once it has returned.
    owned.delete('a');
    await c.drain((key) => key.startsWith('a/'));
    expect(ended).toEqual(['b/quick', 'a/slow']);
    // Not owned any more: a new add is skipped, and no retry is scheduled for the aborted one.
    queue.add('a/slow');
    queue.add('b/again');
    await expect.poll(() => ended).toEqual(['b/quick', 'a/slow', 'b/again']);
    expect(started.filter((k) => k === 'a/slow')).toHaveLength(1);
    await c.stop();
  });

  it('drain() leaves the keys that do not match running', async () => {
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const aborted: string[] = [];
    const { c, queue } = sharded(new Set(['a', 'b']), async (key, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push(key));
      await gate;
    });
    c.start();
    queue.add('a/x');
    queue.add('b/y');
    await expect.poll(() => queue.length).toBe(0);
    const drained = c.drain((key) => key.startsWith('a/'));
    finish();
    await drained;
    expect(aborted).toEqual(['a/x']);
    await c.stop();
  });
});
