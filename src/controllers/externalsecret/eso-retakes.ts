// External Secrets Operator still running after a takeover writes the Secret
// back (its label, its ownerReference, its data-hash). Taking it over again at
// once would fight ESO in a loop, so each Secret's retakes are spaced: the
// first after `baseMs`, then twice as long each time, up to `maxMs`. Once ESO
// stops, the next retake holds and the Secret is ours again.

export interface RetakeGate {
  /** The retake may happen now. */
  due: boolean;
  /** When the next retake may happen (epoch ms). */
  at: number;
}

export class EsoRetakes {
  /** Secret key -> retakes so far and when the next one may happen. */
  private readonly bySecret = new Map<string, { count: number; at: number }>();

  constructor(
    private readonly baseMs = 5_000,
    private readonly maxMs = 5 * 60_000,
  ) {}

  /** ESO's marks are back on a Secret we took over: may we take it over again now? */
  check(secretKey: string, now: number): RetakeGate {
    let state = this.bySecret.get(secretKey);
    if (!state) {
      // First sight of ESO writing back: wait before the first retake.
      state = { count: 0, at: now + this.baseMs };
      this.bySecret.set(secretKey, state);
    }
    return { due: now >= state.at, at: state.at };
  }

  /** A retake was written: the next one waits twice as long. */
  retaken(secretKey: string, now: number): number {
    const state = this.bySecret.get(secretKey) ?? { count: 0, at: now };
    state.count += 1;
    state.at = now + Math.min(this.baseMs * 2 ** state.count, this.maxMs);
    this.bySecret.set(secretKey, state);
    return state.at;
  }

  forget(secretKey: string): void {
    this.bySecret.delete(secretKey);
  }
}
