// Reads a V8 .cpuprofile (node --cpu-prof) and names the functions that took
// the most CPU, inclusive of what they call, as a share of the busy (not idle)
// time, with where they live: the evidence for "what costs CPU".
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  where: string;
  inclusiveMs: number;
  share: number;
}

const maps = new Map<string, SourceMap | undefined>();

/** Where a frame of the minified bundle comes from, through the bundle's source map. */
function original(frame: ProfileNode['callFrame']): { name: string; where: string } {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return { name, where: '' };
  const short = (url: string, line: number) => `${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${line + 1}`;
  if (!frame.url.includes('/dist/bundle/')) return { name, where: short(frame.url, frame.lineNumber) };
  const path = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url;
  if (!maps.has(path)) maps.set(path, existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as never) : undefined);
  const entry: { originalSource?: string; originalLine?: number; name?: string } | undefined = maps.get(path)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry?.originalSource) return { name, where: short(frame.url, frame.lineNumber) };
  return { name: entry.name ?? name, where: short(entry.originalSource, entry.originalLine ?? 0) };
}

/** Pseudo-frames that are not code: excluded from the ranking, reported as their own share. */
const NOT_CODE = new Set(['(idle)', '(program)', '(root)']);

export function topCpu(file: string, count = 10): Hotspot[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Time per function, inclusive of what it calls (each function once per sample).
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id);
    if (!leaf || NOT_CODE.has(leaf.callFrame.functionName)) return;
    busy += us;
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      if (NOT_CODE.has(n.callFrame.functionName)) continue;
      const { name, where } = original(n.callFrame);
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { name, where, us: 0 };
      entry.us += us;
      inclusive.set(key, entry);
    }
  });
  return [...inclusive.values()]
    .filter((e) => e.where !== '' || e.name === '(garbage collector)')
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, inclusiveMs: Math.round(e.us / 1000), share: Number((e.us / busy).toFixed(3)) }));
}
