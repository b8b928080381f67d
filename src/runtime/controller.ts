// The controller loop: workers take keys from the queue and reconcile them.
// Outcome handling follows controller-runtime: an error retries with backoff,
// a terminal error waits for the object to change, "requeue after" schedules
// the next run and forgets the backoff, success forgets.
import type { Logger } from 'pino';
import type { RetryLimiter } from './backoff.js';
import type { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** Run again after this many ms (a scheduled refresh). */
  requeueAfterMs?: number;
}

/** An error that retrying cannot fix; the key waits for the next change. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export interface ControllerOptions {
  name: string;
  queue: WorkQueue;
  retry: RetryLimiter;
  workers: number;
  reconcile: (key: string) => Promise<ReconcileResult | void>;
  log: Logger;
  onOutcome?: (outcome: 'success' | 'requeue' | 'error' | 'terminal', ms: number) => void;
}

export class Controller {
  private running: Promise<void>[] = [];

  constructor(private readonly opts: ControllerOptions) {}

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.running.push(this.work());
  }

  /** Stops taking new keys and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.opts.queue.shutdown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async work(): Promise<void> {
    const { queue } = this.opts;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } finally {
        queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const { queue, retry, log, onOutcome } = this.opts;
    const started = performance.now();
    try {
      const result = await this.opts.reconcile(key);
      retry.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      onOutcome?.(result?.requeueAfterMs !== undefined ? 'requeue' : 'success', performance.now() - started);
    } catch (err) {
      if (err instanceof TerminalError) {
        retry.forget(key);
        log.info({ key, controller: this.opts.name, err: err.message }, 'reconcile failed; waiting for a change');
        onOutcome?.('terminal', performance.now() - started);
        return;
      }
      const delay = retry.when(key);
      log.warn(
        { key, controller: this.opts.name, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
        'reconcile failed; retrying',
      );
      queue.addAfter(key, delay, 'routine');
      onOutcome?.('error', performance.now() - started);
    }
  }
}
