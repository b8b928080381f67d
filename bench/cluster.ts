// What the bench reads from the machine and the API server: CPU seconds of a
// process (from /proc), and the API server's own request counters.
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../src/kube/client.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Peak resident memory of a process, MiB. */
export function peakRssMiB(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** Resident memory now: anonymous (heap, native) and file-backed (the node binary's pages, reclaimable). */
export function rssNowMiB(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { anon: Number(kb('RssAnon').toFixed(1)), file: Number(kb('RssFile').toFixed(1)) };
}

export function pidFrom(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

/** apiserver_request_total summed by "VERB resource[/subresource]", plus " CODE" for failures. */
export type RequestCounts = Map<string, number>;

export async function apiserverRequests(kube: KubeClient): Promise<RequestCounts> {
  const response = await kube.send('GET', '/metrics');
  const text = await response.text();
  const counts: RequestCounts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    // Failed requests keep their code ("POST secrets 409"); successes are summed.
    const failed = labels.code && !labels.code.startsWith('2') ? ` ${labels.code}` : '';
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}${failed}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** after - before, without zero rows. */
export function diff(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

export function sum(counts: RequestCounts, filter: (key: string) => boolean = () => true): number {
  let total = 0;
  for (const [k, v] of counts) if (filter(k)) total += v;
  return total;
}
