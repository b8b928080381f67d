// `secretsync migrate <files|dirs|->`: External Secrets Operator manifests
// converted into secretsync manifests, file by file, keeping comments, key
// order and every other document as it was. Output goes to stdout, back into
// the files (--write), or under --out-dir with the same relative paths.
// Warnings and errors name the file, its line and the field, on stderr.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { convertDocument } from './migrate/convert.js';
import { filesOf, lineFinder, readStdin } from './manifests.js';
import { progress, styler } from './style.js';

export async function migrate(inputs: string[], opts: { write?: boolean; outDir?: string }): Promise<number> {
  const s = styler(process.stderr);
  const show = progress('migrating');
  let errors = 0;
  let converted = 0;
  const stdout: string[] = [];
  for (const input of inputs) {
    let files: string[];
    try {
      files = await filesOf(input);
    } catch (err) {
      process.stderr.write(`${input}: ${s.red('error')}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      errors++;
      continue;
    }
    for (const [i, file] of files.entries()) {
      show(i + 1, files.length);
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      const counter = new LineCounter();
      const parts: string[] = [];
      let changed = false;
      let previousEnd = 0;
      for (const doc of parseAllDocuments(text, { lineCounter: counter })) {
        // Its own source, from the end of the document before: comments and the --- marker included.
        const source = text.slice(previousEnd, doc.range[2]).replace(/^\n+/, '').replace(/\s*$/, '\n');
        previousEnd = doc.range[2];
        if (doc.errors.length > 0) {
          errors++;
          show.clear();
          process.stderr.write(`${file}:${counter.linePos(doc.errors[0]!.pos[0]).line}: ${s.red('error')}: YAML: ${doc.errors[0]!.message.split('\n')[0]}\n`);
          parts.push(source);
          continue;
        }
        // Lines are looked up in the document as written (conversion edits it in place).
        const lineOf = lineFinder(doc.clone(), counter);
        const meta = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        const result = convertDocument(doc);
        if (result.eso && !result.unchanged) {
          converted++;
          changed = true;
        }
        for (const f of result.findings) {
          if (f.severity === 'error') errors++;
          const line = lineOf(f.path) + (f.templateLine ? f.templateLine - 1 : 0);
          const level = f.severity === 'error' ? s.red('error') : s.yellow('warning');
          show.clear();
          process.stderr.write(`${file === '-' ? '<stdin>' : file}:${line}: ${level}: ${meta?.kind ?? ''}/${meta?.metadata?.name ?? ''}: ${f.path || '(document)'}: ${f.message}\n`);
        }
        // Left alone: its own text, byte for byte (re-serialising would reformat flow collections).
        if (result.unchanged) parts.push(source);
        else for (const d of result.docs) parts.push(d.toString({ flowCollectionPadding: false }));
      }
      const body = parts.map((p, n) => (n > 0 && !p.startsWith('---') ? `---\n${p}` : p)).join('');
      if (opts.outDir) {
        const dest = join(opts.outDir, file === '-' ? 'stdin.yaml' : relative(input === file ? dirname(input) : input, file));
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(dest, body);
      } else if (opts.write && file !== '-') {
        if (changed) await writeFile(file, body);
      } else stdout.push(body);
    }
  }
  if (stdout.length > 0) process.stdout.write(stdout.map((b, n) => (n === 0 ? b : `---\n${b}`)).join(''));
  process.stderr.write(`${converted} manifest(s) converted, ${errors} error(s)\n`);
  return errors > 0 ? 1 : 0;
}
