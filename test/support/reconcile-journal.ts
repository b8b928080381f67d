// Reads the --reconcile-journal files of several replicas and finds every
// moment one key was reconciled by two of them at once: for each key, the
// intervals (start..end) of different replicas must not overlap. A start with
// no end (the replica was killed) lasts until the replica's last line.
import { existsSync, readFileSync } from 'node:fs';

export interface Overlap {
  key: string;
  first: { replica: string; from: number; to: number };
  second: { replica: string; from: number; to: number };
}

interface Interval {
  replica: string;
  from: number;
  to: number;
}

export interface JournalSummary {
  /** Reconciles started, by replica. */
  reconciles: Map<string, number>;
  /** The most reconciles of one key by one replica ("replica controller key" -> count). */
  mostOfOneKey: { what: string; count: number };
  overlaps: Overlap[];
}

export function checkJournals(files: string[]): JournalSummary {
  const byKey = new Map<string, Interval[]>();
  const reconciles = new Map<string, number>();
  const perKey = new Map<string, number>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    const open = new Map<string, { replica: string; from: number }>();
    let last = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [time, replica, what, controller, key] = line.split(' ');
      if (!key || !replica) continue;
      const at = Number(time);
      last = Math.max(last, at);
      const id = `${controller} ${key}`;
      if (what === 'start') {
        open.set(id, { replica, from: at });
        reconciles.set(replica, (reconciles.get(replica) ?? 0) + 1);
        const one = `${replica} ${controller} ${key}`;
        perKey.set(one, (perKey.get(one) ?? 0) + 1);
      } else if (what === 'end') {
        const started = open.get(id);
        open.delete(id);
        if (started) byKey.set(id, [...(byKey.get(id) ?? []), { ...started, to: at }]);
      }
    }
    for (const [id, started] of open) byKey.set(id, [...(byKey.get(id) ?? []), { ...started, to: last }]);
  }
  const overlaps: Overlap[] = [];
  for (const [key, intervals] of byKey) {
    intervals.sort((a, b) => a.from - b.from);
    for (let i = 1; i < intervals.length; i++) {
      for (let j = i - 1; j >= 0; j--) {
        const [a, b] = [intervals[j]!, intervals[i]!];
        if (a.replica !== b.replica && a.to > b.from) overlaps.push({ key, first: a, second: b });
      }
    }
  }
  let mostOfOneKey = { what: '', count: 0 };
  for (const [what, count] of perKey) if (count > mostOfOneKey.count) mostOfOneKey = { what, count };
  return { reconciles, overlaps, mostOfOneKey };
}
