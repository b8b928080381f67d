// The documentation cannot rot: every YAML manifest in README.md and docs/
// parses and, when it is one of ours, passes `secretsync validate` (unless
// marked `<!-- counter-example -->` just above it); every relative link and
// anchor resolves; the generated pages (API reference, troubleshooting, the
// flags table) are what `make generate` writes from the code today.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
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

/** Fenced blocks of a language, with the line they start on and whether a counter-example marker precedes them. */
function blocks(text: string, lang: string): Array<{ code: string; line: number; counterExample: boolean }> {
  const out: Array<{ code: string; line: number; counterExample: boolean }> = [];
  const re = new RegExp(`^( *)\`\`\`${lang}\\n([\\s\\S]*?)^\\1\`\`\`$`, 'gm');
  for (const m of text.matchAll(re)) {
    const before = text.slice(0, m.index).trimEnd();
    const indent = m[1]!.length;
    out.push({
      code: m[2]!.split('\n').map((l) => l.slice(indent)).join('\n'),
      line: before.split('\n').length + 1,
      counterExample: before.endsWith('<!-- counter-example -->'),
    });
  }
  return out;
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

  it.each(pages.map((p) => [rel(p), p]))('%s: every YAML block parses, and every manifest of ours passes validate', async (name, file) => {
    const problems: string[] = [];
    for (const block of blocks(read(file), 'yaml')) {
      const counter = new LineCounter();
      for (const doc of parseAllDocuments(block.code, { lineCounter: counter })) {
        if (doc.errors.length > 0) {
          problems.push(`${name}:${block.line}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
          continue;
        }
        const obj = doc.toJS() as Record<string, unknown> | null;
        if (!obj || !asText(obj.apiVersion).startsWith('secretsync.dev/')) continue;
        const found = await checkManifest({ file: name, doc, obj, kind: asText(obj.kind), name: asText((obj.metadata as { name?: unknown } | undefined)?.name), lineOf: lineFinder(doc, counter) });
        const errors = found.filter((f) => f.severity === 'error');
        if (block.counterExample) {
          if (errors.length === 0) problems.push(`${name}:${block.line}: marked as a counter-example, but validate finds nothing wrong`);
        } else for (const e of errors) problems.push(`${name}:${block.line + e.line - 1}: ${e.path ?? ''}: ${e.message}`);
      }
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

  it('the generated pages are what make generate writes today', () => {
    expect(read(join(root, 'docs/api-reference.md')), 'docs/api-reference.md: run make generate').toBe(apiReference());
    expect(read(join(root, 'docs/troubleshooting.md')), 'docs/troubleshooting.md: run make generate').toBe(`${troubleshooting()}\n`);
    const operations = read(join(root, 'docs/operations.md'));
    expect(operations, 'the flags table in docs/operations.md differs from `secretsync run --help`: run make generate').toBe(withFlags(operations));
  }, 30_000);
});
