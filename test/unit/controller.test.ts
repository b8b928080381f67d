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
