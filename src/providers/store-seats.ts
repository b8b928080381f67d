// How many of a store's ExternalSecret syncs may wait on its calls at once,
// so that a store whose calls hang cannot take the workers from everyone else.
//
// A sync takes a seat for its provider calls and leaves it when they are done.
// A seat held longer than `slowMs` is slow: its sync gives its worker back
// (the controller runs it on, detached), so other stores' work goes on. Once
// `maxWaiting` seats are slow the store is held back: at most `maxWaiting` of
// its syncs wait on it and at most `maxHolding` hold a worker (seats not yet
// slow), and the others are turned away (StoreHeldBackError: Ready=False
// StoreHeldBack unless already synced) and woken, oldest first, as seats
// free. It stops being held back when a seat is left within `slowMs` while
// none is slow: the provider answers again.
//
// Why seats and not a fixed share of the workers per store: a store that
// answers fast never has a seat turn slow, so one healthy store still uses
// every worker (make bench reads 10,000 ExternalSecrets through one store),
// while a slow one keeps `maxWaiting` calls going without holding workers.
import { StoreHeldBackError } from './errors.js';

export interface SeatOptions {
  /** A seat held this long is slow. */
  slowMs: number;
  /** Slow seats that hold the store back, and the seats it keeps while held back. */
  maxWaiting: number;
  /** While held back, seats not yet slow (holding a worker) it may have. */
  maxHolding: number;
  /** Queues a sync that was turned away, when its turn comes. */
  wake: (consumer: string) => void;
  /** The store's state changed (for metrics). */
  onChange?: (state: { heldBack: boolean; slow: number }) => void;
  /** A sync was turned away (for metrics). */
  onTurnedAway?: () => void;
}

/** A seat taken by one sync; leave() it when its calls are done. */
export interface Seat {
  leave(): void;
}

interface Taken {
  consumer: string;
  slow: boolean;
  timer: NodeJS.Timeout;
}

export class StoreSeats {
  private readonly taken = new Set<Taken>();
  /** Consumers turned away, in the order they came. */
  private readonly turnedAway = new Set<string>();
  private slow = 0;
  private heldBack = false;

  constructor(
    /** Named in messages: Kind/namespace/name. */
    private readonly store: string,
    private readonly opts: SeatOptions,
  ) {}

  get isHeldBack(): boolean {
    return this.heldBack;
  }

  /**
   * A seat for `consumer`, or StoreHeldBackError when the store is held back
   * and its seats are full. `onSlow` runs once if the seat turns slow;
   * `graceMs` adds time the sync waits by design (a refresh's batch window).
   */
  take(consumer: string, onSlow: () => void, graceMs = 0): Seat {
    const { slowMs, maxWaiting, maxHolding } = this.opts;
    if (this.heldBack && (this.taken.size >= maxWaiting || this.taken.size - this.slow >= maxHolding)) {
      this.turnedAway.add(consumer);
      this.opts.onTurnedAway?.();
      throw new StoreHeldBackError(
        `store ${this.store} is held back: ${maxWaiting} of its ExternalSecrets have waited on its calls for over ${slowMs} ms, so no more than that wait on it at a time; this one syncs when one of them returns`,
      );
    }
    const seat: Taken = { consumer, slow: false, timer: setTimeout(() => this.turnedSlow(seat, onSlow), slowMs + graceMs) };
    seat.timer.unref();
    this.taken.add(seat);
    return { leave: () => this.leave(seat) };
  }

  /** The store's client is replaced: everyone turned away tries again with the new one. */
  close(): void {
    for (const seat of this.taken) clearTimeout(seat.timer);
    this.wake(this.turnedAway.size);
  }

  private turnedSlow(seat: Taken, onSlow: () => void): void {
    if (!this.taken.has(seat)) return;
    seat.slow = true;
    this.slow++;
    if (this.slow >= this.opts.maxWaiting) this.heldBack = true;
    this.changed();
    onSlow();
    // It no longer holds a worker: a sync turned away may have its seat.
    if (this.heldBack) this.wake(this.room());
  }

  private leave(seat: Taken): void {
    if (!this.taken.delete(seat)) return;
    clearTimeout(seat.timer);
    // A fast answer from a store not held back (the common case) changes nothing the metrics show.
    const changes = seat.slow || (this.heldBack && this.slow === 0);
    if (seat.slow) this.slow--;
    // An answer within slowMs while nothing else hangs: the provider answers again.
    else if (this.heldBack && this.slow === 0) this.heldBack = false;
    if (changes) this.changed();
    this.wake(this.heldBack ? this.room() : this.turnedAway.size);
  }

  /** Seats a held-back store can still give. */
  private room(): number {
    const { maxWaiting, maxHolding } = this.opts;
    return Math.max(0, Math.min(maxWaiting - this.taken.size, maxHolding - (this.taken.size - this.slow)));
  }

  /** Queues up to `n` of the syncs turned away, oldest first. */
  private wake(n: number): void {
    for (const consumer of this.turnedAway) {
      if (n-- <= 0) break;
      this.turnedAway.delete(consumer);
      this.opts.wake(consumer);
    }
  }

  private changed(): void {
    this.opts.onChange?.({ heldBack: this.heldBack, slow: this.slow });
  }
}
