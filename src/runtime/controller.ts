// The controller loop: workers take keys from the queue and reconcile them.
// Outcome handling follows controller-runtime: an error retries with backoff,
// a terminal error waits for the object to change, "requeue after" schedules
// the next run and forgets the backoff, success forgets.
//
// Each reconcile gets a context, as controller-runtime gives one: a logger
// carrying the controller, the key and a reconcile id, and a signal that
// stop() aborts, so work in flight (a provider call that never answers) ends
// when the operator stops instead of holding it up.
//
// A reconcile that waits on something slow (a provider call past
// --slow-call-after) calls release(): its worker goes back to the queue while
// the reconcile runs on, detached, so a store that hangs holds no worker for
// longer than that. Detached reconciles are bounded (16 per worker); past the
// bound, release() does nothing and the reconcile keeps its worker.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RetryLimiter } from './backoff.js';
import { lazyChild } from './lazy-logger.js';
import type { WorkQueue } from './workqueue.js';
import type { Lifecycle } from './lifecycle.js';
import type { ReconcileJournal } from './reconcile-journal.js';

export interface ReconcileResult {
  /** Run again after this many ms (a scheduled refresh). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Aborted when the controller stops. */
  signal: AbortSignal;
  /** Scoped to this reconcile: { controller, key, reconcileId }. */
  log: Logger;
  /** This reconcile waits on something slow: give its worker back and run on detached. */
  release: () => void;
}

/**
 * A reconciler makes the world match the object behind `key`, reading current
 * state itself. Return a requeue delay for scheduled work, throw to retry with
 * backoff, or throw TerminalError when only a change to the object can help.
 */
export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** An error that retrying cannot fix; the key waits for the next change. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export interface ControllerOptions {
  name: string;
  queue: WorkQueue;
  retry: RetryLimiter;
  workers: number;
  reconcile: Reconcile;
  log: Logger;
  onOutcome?: (outcome: 'success' | 'requeue' | 'error' | 'terminal', ms: number) => void;
  /**
   * With sharding: whether this replica works on the key now. A key it does
   * not is skipped when taken from the queue (its holder reconciles it), and
   * drain() stops those in flight.
   */
  owns?: (key: string) => boolean;
  /** Told of each reconcile's start and end (a diagnostic, --reconcile-journal). */
  journal?: ReconcileJournal;
}

/**
 * Reconcile ids: a random prefix per process (ids stay apart across restarts
 * and replicas) and a counter. Random bytes for each reconcile were 1% of a
 * 10,000 first sync's CPU.
 */
const idPrefix = randomBytes(3).toString('hex');
let reconciles = 0;

/** Detached reconciles allowed per worker. */
const DETACHED_PER_WORKER = 16;

export class Controller implements Lifecycle {
  private running: Promise<void>[] = [];
  /** Reconciles that gave their worker back and have not returned. */
  private readonly detached = new Set<{ done: Promise<void> }>();
  private readonly stopping = new AbortController();
  /** With sharding: each reconcile in flight, to abort one whose key this replica gives up. */
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly opts: ControllerOptions) {}

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.running.push(this.work());
  }

  /** Stops taking new keys, aborts the reconciles in flight and waits for them to return. */
  async stop(): Promise<void> {
    this.opts.queue.shutdown();
    this.stopping.abort(new Error('operator is stopping'));
    await Promise.all(this.running);
    await Promise.all([...this.detached].map((d) => d.done));
    this.running = [];
  }

  /**
   * Stops the reconciles in flight whose keys match (their keys are no longer
   * owned: a handover) and resolves once every one has returned.
   */
  async drain(matches: (key: string) => boolean): Promise<void> {
    const waiting: Promise<void>[] = [];
    for (const [key, run] of this.inFlight) {
      if (!matches(key)) continue;
      run.abort.abort(new Error('this replica no longer works on the key'));
      waiting.push(run.done);
    }
    await Promise.all(waiting);
  }

  private async work(): Promise<void> {
    const { queue } = this.opts;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await this.runOnWorker(key);
    }
  }

  /** Resolves when the reconcile of key returns, or earlier when it releases its worker. */
  private runOnWorker(key: string): Promise<void> {
    return new Promise((freeWorker) => {
      const self = { released: false, done: Promise.resolve() };
      const release = () => {
        if (self.released || this.detached.size >= this.opts.workers * DETACHED_PER_WORKER) return;
        self.released = true;
        this.detached.add(self);
        freeWorker();
      };
      if (this.opts.owns && !this.opts.owns(key)) {
        // Another replica holds it now: not ours to reconcile (and not counted as one).
        this.opts.queue.done(key);
        freeWorker();
        return;
      }
      self.done = this.process(key, release).finally(() => {
        this.opts.queue.done(key);
        this.detached.delete(self);
        freeWorker();
      });
    });
  }

  private async process(key: string, release: () => void): Promise<void> {
    const { queue, retry, onOutcome, name } = this.opts;
    const started = performance.now();
    const log = lazyChild(this.opts.log, { controller: name, key, reconcileId: `${idPrefix}-${(reconciles++).toString(36)}` });
    const handover = this.opts.owns ? new AbortController() : undefined;
    const signal = handover ? AbortSignal.any([this.stopping.signal, handover.signal]) : this.stopping.signal;
    let returned!: () => void;
    if (handover) this.inFlight.set(key, { abort: handover, done: new Promise((resolve) => (returned = resolve)) });
    this.opts.journal?.started(name, key);
    try {
      const result = await this.opts.reconcile(key, { signal, log, release });
      retry.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      onOutcome?.(result?.requeueAfterMs !== undefined ? 'requeue' : 'success', performance.now() - started);
    } catch (err) {
      // Stopping, or handed over: whoever holds the key next reconciles it.
      if (signal.aborted) return;
      if (err instanceof TerminalError) {
        retry.forget(key);
        log.info({ err: err.message }, 'reconcile failed; waiting for a change');
        onOutcome?.('terminal', performance.now() - started);
        return;
      }
      const delay = retry.when(key);
      log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'reconcile failed; retrying');
      queue.addAfter(key, delay, 'routine');
      onOutcome?.('error', performance.now() - started);
    } finally {
      this.opts.journal?.ended(name, key);
      if (handover) {
        this.inFlight.delete(key);
        returned();
      }
    }
  }
}
