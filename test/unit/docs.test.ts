// The documentation cannot rot: every YAML manifest in README.md and docs/
// parses and, when it is one of ours, passes `secretsync validate` (unless
// marked `<!-- counter-example -->` just above it); every relative link and
// anchor resolves; the generated pages (API reference, troubleshooting, the
// flags table) are what `make generate` writes from the code today.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineCounter, parse, parseAllDocuments, type Document } from 'yaml';
import { REASON_HELP } from '../../src/api/reasons.js';
import { apiReference } from '../../scripts/describe-crds.js';
import { troubleshooting, withFlags } from '../../scripts/gen-docs.js';
import { asText, lineFinder } from '../../src/cli/manifests.js';
import { checkManifest } from '../../src/cli/validate.js';

const root = join(import.meta.dirname, '../..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith('.md') ? [path] : [];
  });
}
const pages = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
const read = (file: string) => readFileSync(file, 'utf8');
const rel = (file: string) => relative(root, file);

interface Block {
  code: string;
  line: number;
  counterExample: boolean;
  /** `<!-- example: fragment of Kind [path] -->` above it: the block is that part of a minimal object of that kind. */
  fragmentOf?: { kind: string; path: string[] };
}

/** Fenced blocks of a language, with the line they start on and the marker that precedes them, if any. */
function blocks(text: string, lang: string): Block[] {
  const out: Block[] = [];
  const re = new RegExp(`^( *)\`\`\`${lang}\\n([\\s\\S]*?)^\\1\`\`\`$`, 'gm');
  for (const m of text.matchAll(re)) {
    const before = text.slice(0, m.index).trimEnd();
    const indent = m[1]!.length;
    const fragment = /<!-- example: fragment of (\w+)((?: [\w.]+)?) -->$/.exec(before);
    out.push({
      code: m[2]!.split('\n').map((l) => l.slice(indent)).join('\n'),
      line: before.split('\n').length + 1,
      counterExample: before.endsWith('<!-- counter-example -->'),
      fragmentOf: fragment ? { kind: fragment[1]!, path: fragment[2]!.trim() ? fragment[2]!.trim().split('.') : [] } : undefined,
    });
  }
  return out;
}

/** The smallest valid object of each kind a fragment can be part of; the fragment is merged into it. */
const MINIMAL: Record<string, () => Record<string, unknown>> = {
  SecretStore: () => ({ spec: {} }),
  ClusterSecretStore: () => ({ spec: {} }),
  ExternalSecret: () => ({ spec: { secretStoreRef: { name: 'example' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] } }),
  PushSecret: () => ({ spec: { secretStoreRefs: [{ name: 'example' }], selector: { secret: { name: 'example' } }, data: [{ match: { secretKey: 'k', remoteRef: { remoteKey: 'k' } } }] } }),
};

function mergeInto(base: Record<string, unknown>, part: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(part)) {
    const here = base[k];
    base[k] = here && typeof here === 'object' && !Array.isArray(here) && v && typeof v === 'object' && !Array.isArray(v) ? mergeInto(here as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return base;
}

/** A fragment inside the minimal object its marker names. */
function wrapped(fragment: { kind: string; path: string[] }, value: unknown): Record<string, unknown> {
  const base = MINIMAL[fragment.kind];
  if (!base) throw new Error(`no minimal ${fragment.kind} to put a fragment in`);
  let part: unknown = value;
  for (const key of [...fragment.path].reverse()) part = { [key]: part };
  const namespaced = fragment.kind !== 'ClusterSecretStore';
  return mergeInto({ apiVersion: 'secretsync.dev/v1alpha1', kind: fragment.kind, metadata: namespaced ? { name: 'example', namespace: 'default' } : { name: 'example' }, ...base() }, part as Record<string, unknown>);
}

/** What `secretsync validate` finds wrong with a manifest of ours. */
async function validateObject(file: string, doc: Document, obj: Record<string, unknown>, lineOf: (path: string) => number): Promise<Array<{ line: number; path?: string; message: string }>> {
  const found = await checkManifest({ file, doc, obj, kind: asText(obj.kind), name: asText((obj.metadata as { name?: unknown } | undefined)?.name), lineOf });
  return found.filter((f) => f.severity === 'error');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('documentation', () => {
  it('has a short README (the front door) and the pages by topic', () => {
    expect(read(join(root, 'README.md')).split('\n').length).toBeLessThanOrEqual(150);
    for (const page of ['getting-started', 'templates', 'operations', 'security', 'cli', 'migrating-from-eso', 'benchmark', 'troubleshooting', 'providers/README']) {
      expect(pages.map(rel), page).toContain(`docs/${page}.md`);
    }
  });

  it.each(pages.map((p) => [rel(p), p]))('%s: every YAML block parses, and every manifest of ours (or fragment, in the object it declares) passes validate', async (name, file) => {
    const problems: string[] = [];
    for (const block of blocks(read(file), 'yaml')) {
      const counter = new LineCounter();
      for (const doc of parseAllDocuments(block.code, { lineCounter: counter })) {
        if (doc.errors.length > 0) {
          problems.push(`${name}:${block.line}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
          continue;
        }
        const value = doc.toJS() as Record<string, unknown> | null;
        if (!value) continue;
        let obj = value;
        if (block.fragmentOf) {
          obj = wrapped(block.fragmentOf, value);
        } else if (!('apiVersion' in value) && !block.counterExample) {
          problems.push(`${name}:${block.line}: a fragment with nothing to validate it in: put <!-- example: fragment of Kind [path] --> above it`);
          continue;
        }
        if (!asText(obj.apiVersion).startsWith('secretsync.dev/')) continue;
        // A fragment's lines are not the wrapper's: its problems point at the block.
        const errors = await validateObject(name, doc, obj, block.fragmentOf ? () => 1 : lineFinder(doc, counter));
        if (block.counterExample) {
          if (errors.length === 0) problems.push(`${name}:${block.line}: marked as a counter-example, but validate finds nothing wrong`);
        } else for (const e of errors) problems.push(`${name}:${block.line + e.line - 1}: ${e.path ?? ''}: ${e.message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')))('examples/%s: every manifest of ours passes validate', async (file) => {
    const counter = new LineCounter();
    const problems: string[] = [];
    for (const doc of parseAllDocuments(read(join(root, 'examples', file)), { lineCounter: counter })) {
      expect(doc.errors).toEqual([]);
      const obj = doc.toJS() as Record<string, unknown> | null;
      if (!obj || !asText(obj.apiVersion).startsWith('secretsync.dev/')) continue;
      for (const e of await validateObject(file, doc, obj, lineFinder(doc, counter))) problems.push(`examples/${file}:${e.line}: ${e.path ?? ''}: ${e.message}`);
    }
    expect(problems).toEqual([]);
  });

  it('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    for (const file of pages) {
      const text = read(file).replace(/^```[\s\S]*?^```$/gm, '');
      for (const m of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const dest = path ? resolve(dirname(file), path) : file;
        let exists = false;
        try {
          statSync(dest);
          exists = true;
        } catch {
          broken.push(`${rel(file)}: ${target}: no such file`);
        }
        if (exists && anchor && dest.endsWith('.md') && !anchors(read(dest)).has(anchor)) broken.push(`${rel(file)}: ${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every kubectl command names secretsync\'s kinds by their full resource name (ESO defines the same names)', () => {
    const names = new Set<string>();
    for (const file of readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'descriptions.yaml')) {
      const crd = parse(read(join(root, 'crds', file))) as { spec: { names: { plural: string; singular: string; kind: string; shortNames?: string[] } } };
      const n = crd.spec.names;
      for (const name of [n.plural, n.singular, n.kind.toLowerCase(), ...(n.shortNames ?? [])]) names.add(name);
    }
    const texts: Array<[string, string]> = [
      ...pages.map((f) => [rel(f), read(f)] as [string, string]),
      ['scripts/demo.sh', read(join(root, 'scripts/demo.sh'))],
      ['src/api/reasons.ts (REASON_HELP)', Object.values(REASON_HELP).map((h) => `${h.means}\n${h.todo}`).join('\n')],
    ];
    const ambiguous: string[] = [];
    for (const [where, text] of texts) {
      for (const m of text.matchAll(/kubectl\b(?:\s+-n\s+\S+)?\s+(?:get|describe|delete|edit|wait|annotate|label|patch|explain|scale)\b([^\n`|;]*)/g)) {
        for (const token of m[1]!.split(/[\s,]+/)) {
          const resource = token.split('/')[0]!;
          if (names.has(resource)) ambiguous.push(`${where}: "${m[0].trim()}": ${resource}`);
        }
      }
    }
    expect(ambiguous).toEqual([]);
  });

  it('the image and Kubernetes sections say what the build and the tests do today', () => {
    const operations = read(join(root, 'docs/operations.md'));
    const build = read(join(root, 'scripts/build-image.sh'));
    const archive = /^OUT="\$ROOT\/(.+)"$/m.exec(build)![1]!;
    expect(operations).toContain(`skopeo copy oci-archive:${archive} docker://`);
    expect(read(join(root, 'docs/security.md'))).toContain(archive.replace(/\.oci\.tar$/, '.cdx.json'));
    const values = parse(read(join(root, 'deploy/charts/secretsync/values.yaml'))) as { image: Record<string, unknown> };
    for (const key of ['repository', 'tag']) {
      expect(Object.keys(values.image)).toContain(key);
      expect(operations).toContain(`--set image.${key}=`);
    }
    // The oldest version stated is the one make test-oldest-kubernetes builds.
    const oldest = /^OLDEST_KUBE_VERSION=(\d+\.\d+)\.\d+$/m.exec(read(join(root, 'scripts/lib.sh')))![1]!;
    expect(operations).toContain(`Kubernetes ${oldest} or newer`);
    expect(read(join(root, 'docs/getting-started.md'))).toContain(`Kubernetes ${oldest} or newer`);
    expect(read(join(root, 'Makefile'))).toMatch(/^test-oldest-kubernetes:/m);
  });

  it('no page offers an npm install of the CLI while the package is private', () => {
    const pkg = JSON.parse(read(join(root, 'package.json'))) as { private?: boolean };
    const offers = pages.filter((file) => /npm (?:install|i)\b[^\n.]*(?:secretsync|PATH|path)/.test(read(file))).map(rel);
    expect(pkg.private ? offers : []).toEqual([]);
  });

  it('every count of the malformed corpus the docs quote is its size today', () => {
    const size = (JSON.parse(read(join(root, 'test/corpus/malformed.json'))) as unknown[]).length;
    const quoted = pages.flatMap((file) => [...read(file).matchAll(/(\d+)-manifest (?:malformed )?corpus|Malformed manifests: (\d+) tried|on all (\d+)\./g)].map((m) => [rel(file), Number(m[1] ?? m[2] ?? m[3])] as const));
    expect(quoted.length).toBeGreaterThanOrEqual(3);
    expect(quoted.filter(([, n]) => n !== size)).toEqual([]);
  });

  it('the generated pages are what make generate writes today', () => {
    expect(read(join(root, 'docs/api-reference.md')), 'docs/api-reference.md: run make generate').toBe(apiReference());
    expect(read(join(root, 'docs/troubleshooting.md')), 'docs/troubleshooting.md: run make generate').toBe(`${troubleshooting()}\n`);
    const operations = read(join(root, 'docs/operations.md'));
    expect(operations, 'the flags table in docs/operations.md differs from `secretsync run --help`: run make generate').toBe(withFlags(operations));
  }, 30_000);
});
