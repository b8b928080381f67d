// ExternalSecrets that read one store on the same refresh interval refresh
// together, on the store's beat, instead of each on its own clock: their reads
// then fall due at one moment and share provider calls (one read per distinct
// remote secret; AWS batches of 20), however long the first sync took.
//
// A beat ticks every interval from shortly before the sync that first
// schedules a refresh for that store and interval in this process (different
// stores start apart). A refresh goes to the latest tick that keeps the data
// no older than the interval, if that tick is at least a quarter interval
// away; otherwise to the half-way point between ticks. So ExternalSecrets
// synced within three quarters of an interval of each other share their first
// refresh, and every ExternalSecret is on the ticks from its second refresh on.
/** How far before the first sync that asks a beat starts (a sync's own duration, at most). */
const MAX_HEAD_START_MS = 60_000;

export class RefreshBeats {
  /** Store key and interval -> when the beat started. */
  private readonly starts = new Map<string, number>();

  /** When the refresh of data read at `now` is due, for the store's beat at this interval. */
  dueAt(store: string, intervalMs: number, now: number): number {
    const key = `${store}\0${intervalMs}`;
    let start = this.starts.get(key);
    if (start === undefined) {
      // Syncs that started a little earlier finish after this one: the beat starts before them all.
      start = now - Math.min(intervalMs / 8, MAX_HEAD_START_MS);
      this.starts.set(key, start);
    }
    const latest = now + intervalMs;
    const tick = start + Math.floor((latest - start) / intervalMs) * intervalMs;
    if (tick >= now + intervalMs / 4) return tick;
    // The tick is too close: the half-way point after it lies between a half and three quarters of an interval away.
    return tick + intervalMs / 2;
  }

  /** When the interval's refresh of data a store's client read at `now` is due (nothing for no store or no interval). */
  dueFor(client: { key: string } | undefined, intervalMs: number, now: number): number | undefined {
    return intervalMs > 0 && client ? this.dueAt(client.key, intervalMs, now) : undefined;
  }
}
