// One run at a time of an evaluation that many events ask for: an ask while it
// runs makes it run once more after, however many asks came, so the last run
// always sees the latest state.
export class Coalesced {
  private running = false;
  private again = false;
  private idle: Array<() => void> = [];

  constructor(private readonly run: () => Promise<void>, private readonly onError: (err: unknown) => void, private readonly stopped: () => boolean) {}

  ask(): void {
    if (this.stopped()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** Resolves once no run is in progress. */
  settled(): Promise<void> {
    return this.running ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.run();
      } while (this.again && !this.stopped());
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
