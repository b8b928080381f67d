// Reads manifests from files, directories (every .yaml, .yml and .json in
// them, recursively) and stdin ("-"), one YAML document at a time, keeping
// each document's source so a problem can be reported at its line.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';

export interface Manifest {
  file: string;
  doc: Document;
  obj: Record<string, unknown>;
  /** 1-based line of the deepest node of `path` (spec.data[0].remoteRef) found in the document. */
  lineOf(path: string): number;
  kind: string;
  name: string;
}

export interface ReadProblem {
  file: string;
  line: number;
  message: string;
}

/** A field read from a manifest as text (a number or a map shown as JSON). */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

const MANIFEST = /\.(ya?ml|json)$/i;

export async function filesOf(input: string): Promise<string[]> {
  if (input === '-') return ['-'];
  const info = await stat(input);
  if (!info.isDirectory()) return [input];
  const out: string[] = [];
  for (const entry of (await readdir(input, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(input, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) out.push(...(await filesOf(path)));
    else if (entry.isFile() && MANIFEST.test(entry.name)) out.push(path);
  }
  return out;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** "spec.data[0].template.data[\"k.x\"]" -> ["spec", "data", 0, "template", "data", "k.x"] */
export function pathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3]!.replace(/\\(.)/g, '$1'));
  }
  return out;
}

export function lineFinder(doc: Document, counter: LineCounter): (path: string) => number {
  return (path) => {
    let node: unknown = doc.contents;
    for (const segment of pathSegments(path)) {
      const next = isMap(node) || isSeq(node) ? node.get(segment, true) : undefined;
      if (next === undefined || isScalar(next) && next.range === undefined) break;
      node = next;
    }
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
    return counter.linePos(offset).line;
  };
}

/** The documents in `inputs`, and what could not be read or parsed. `onFile` reports progress. */
export async function readManifests(inputs: string[], onFile?: (done: number, total: number) => void): Promise<{ manifests: Manifest[]; problems: ReadProblem[] }> {
  const manifests: Manifest[] = [];
  const problems: ReadProblem[] = [];
  const files: string[] = [];
  for (const input of inputs) {
    try {
      files.push(...(await filesOf(input)));
    } catch (err) {
      problems.push({ file: input, line: 0, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
  }
  for (const [i, file] of files.entries()) {
    onFile?.(i + 1, files.length);
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const counter = new LineCounter();
    for (const doc of parseAllDocuments(text, { lineCounter: counter, prettyErrors: false })) {
      const name = file === '-' ? '<stdin>' : file;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) problems.push({ file: name, line: counter.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` });
        continue;
      }
      let obj: unknown;
      try {
        obj = doc.toJS();
      } catch (err) {
        // An alias whose anchor is in another document, say.
        problems.push({ file: name, line: counter.linePos(doc.contents?.range?.[0] ?? 0).line, message: `YAML: ${(err as Error).message}` });
        continue;
      }
      if (obj === null || obj === undefined) continue; // an empty document
      if (typeof obj !== 'object' || Array.isArray(obj)) {
        problems.push({ file: name, line: counter.linePos(doc.contents?.range?.[0] ?? 0).line, message: 'not a Kubernetes object (a YAML map)' });
        continue;
      }
      const record = obj as Record<string, unknown>;
      const metadata = (record.metadata ?? {}) as { name?: unknown };
      manifests.push({ file: name, doc, obj: record, lineOf: lineFinder(doc, counter), kind: asText(record.kind), name: asText(metadata.name) });
    }
  }
  return { manifests, problems };
}
