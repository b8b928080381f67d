// The layers of src/, kept: every folder has a floor, and an import may only
// go to its own floor or one below (never back up), folders never import each
// other in a circle, and no two modules load each other (a value import
// circle, whatever the folders). docs/development.md draws the same map.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Each folder of src/ (controllers/<kind> each on its own) and its floor, lowest first. */
export const FLOORS: Record<string, number> = {
  util: 0,
  kube: 1,
  api: 2,
  runtime: 3,
  providers: 4,
  secrets: 5,
  generators: 6,
  validation: 6,
  'refresh-events': 6,
  'controllers/store': 7,
  'controllers/externalsecret': 7,
  'controllers/pushsecret': 7,
  'controllers/clusterexternalsecret': 7,
  csi: 7,
  cli: 8,
  '(src)': 8,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The folder a file of src/ belongs to. */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return '(src)';
  return parts[0] === 'controllers' && parts.length > 2 ? `controllers/${parts[1]}` : parts[0]!;
}

interface Import {
  from: string;
  to: string;
  /** `import type` only: nothing is loaded at run time. */
  typeOnly: boolean;
  /** import(): loaded when first used. */
  lazy: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^'";]*?from\s*'(\.[^']+)'|import\('(\.[^']+)'\)/gm)) {
    const spec = m[3] ?? m[4]!;
    const to = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
    out.push({ from: file, to, typeOnly: m[2] !== undefined, lazy: m[4] !== undefined });
  }
  return out;
}

const all = files(SRC).filter((f) => !f.endsWith('.d.ts'));
const imports = all.flatMap(importsOf);
const rel = (f: string) => relative(SRC, f);

/** Strongly connected groups of more than one node (Tarjan). */
function circles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        group.push(w);
        if (w === v) break;
      }
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the layers of src/', () => {
  it('every folder has a floor', () => {
    expect([...new Set(all.map(unitOf))].filter((u) => FLOORS[u] === undefined)).toEqual([]);
  });

  it('no import runs back up a floor', () => {
    const upward = imports
      .filter((i) => unitOf(i.from) !== unitOf(i.to) && FLOORS[unitOf(i.to)]! > FLOORS[unitOf(i.from)]!)
      .map((i) => `${rel(i.from)} (${unitOf(i.from)}, floor ${FLOORS[unitOf(i.from)]}) imports ${rel(i.to)} (${unitOf(i.to)}, floor ${FLOORS[unitOf(i.to)]})`);
    expect(upward).toEqual([]);
  });

  it('no folder imports another in a circle', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      const [a, b] = [unitOf(i.from), unitOf(i.to)];
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Set());
      edges.get(a)!.add(b);
    }
    expect(circles(edges)).toEqual([]);
  });

  it('no two modules load each other (value imports, the lazy ones of a registry aside)', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      if (i.typeOnly || i.lazy) continue;
      if (!edges.has(i.from)) edges.set(i.from, new Set());
      edges.get(i.from)!.add(i.to);
    }
    expect(circles(edges).map((c) => c.map(rel))).toEqual([]);
  });

  it('docs/development.md draws the same floors', () => {
    const doc = readFileSync(join(SRC, '../docs/development.md'), 'utf8');
    const drawn: Record<string, number> = {};
    for (const m of doc.matchAll(/^\| (\d+) \| (.+?) \| .* \|$/gm)) {
      for (const folder of m[2]!.matchAll(/`([^`]+)`/g)) {
        const name = folder[1]!.replace(/\/$/, '');
        if (name === 'controllers/<kind>') for (const u of Object.keys(FLOORS).filter((k) => k.startsWith('controllers/'))) drawn[u] = Number(m[1]);
        else drawn[name === 'src/*.ts' ? '(src)' : name] = Number(m[1]);
      }
    }
    expect(drawn).toEqual(FLOORS);
  });

  it('the checks see what they check: a floor that imported upward would be found', () => {
    // The generator registry loads its generators lazily; a generator importing it back would be a circle.
    expect(imports.some((i) => rel(i.from) === 'generators/generators.ts' && rel(i.to) === 'generators/acr.ts' && i.lazy)).toBe(true);
    expect(imports.filter((i) => rel(i.from) === 'secrets/fetch-data.ts').length).toBeGreaterThan(5);
    expect(circles(new Map([['a', new Set(['b'])], ['b', new Set(['a'])]]))).toEqual([['a', 'b']]);
  });
});
