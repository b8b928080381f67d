// The editor migrate converts a YAML document with: it moves, renames and
// drops fields in place (comments and key order survive) and records a
// finding for each change that needs a reader's attention.
import { isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { MigrateContext } from './context.js';
import { translateGoTemplate } from './go-template.js';

export type Path = Array<string | number>;

export interface MigrateFinding {
  path: string;
  severity: 'warning' | 'error';
  message: string;
  /** Line within the template, for template findings. */
  templateLine?: number;
}

const show = (path: Path) => path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

export class Converter {
  readonly findings: MigrateFinding[] = [];
  constructor(readonly doc: Document, readonly context: MigrateContext, readonly namespace: string | undefined) {}

  has(path: Path): boolean {
    return this.doc.hasIn(path);
  }
  get(path: Path): unknown {
    const v = this.doc.getIn(path, true) as Node | undefined;
    return isScalar(v) ? v.value : v;
  }
  items(path: Path): number {
    const v = this.doc.getIn(path, true);
    return isSeq(v) ? v.items.length : 0;
  }
  keys(path: Path): string[] {
    const v = this.doc.getIn(path, true);
    return isMap(v) ? v.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  }
  warn(path: Path, message: string): void {
    this.findings.push({ path: show(path), severity: 'warning', message });
  }
  error(path: Path, message: string): void {
    this.findings.push({ path: show(path), severity: 'error', message });
  }
  /** Removes a field secretsync has no equivalent for, saying what to do instead. */
  drop(path: Path, todo: string): void {
    if (!this.has(path)) return;
    this.doc.deleteIn(path);
    this.warn(path, `no equivalent in secretsync, removed: ${todo}`);
  }
  /** Removes a field whose default secretsync already has. */
  dropIfDefault(path: Path, defaults: unknown[], todo: string): void {
    if (!this.has(path)) return;
    if (defaults.includes(this.get(path))) this.doc.deleteIn(path);
    else this.drop(path, todo);
  }
  /** Replaces a field by another in the same place (key order is what readers of the file see). */
  rename(path: Path, key: string, value: unknown): void {
    const parent = this.doc.getIn(path.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === path.at(-1)) : undefined;
    if (!pair) return;
    pair.key = this.doc.createNode(key);
    pair.value = this.doc.createNode(value);
  }
  move(from: Path, to: Path): void {
    if (!this.has(from)) return;
    const node = this.doc.getIn(from, true);
    this.doc.deleteIn(from);
    this.doc.setIn(to, node);
  }
  /** An error when the field is there: its loss would change what the manifest does. */
  refuse(path: Path, message: string, when: (value: unknown) => boolean = () => true): void {
    if (this.has(path) && when(this.get(path))) this.error(path, message);
  }
  template(path: Path): void {
    const source = this.get(path);
    if (typeof source !== 'string') return;
    const { liquid, untranslated } = translateGoTemplate(source);
    this.doc.setIn(path, liquid);
    // A template that would fail, or render something else, stops the conversion.
    for (const u of untranslated) {
      this.findings.push({ path: show(path), severity: 'error', templateLine: u.line, message: `template line ${u.line}: ${u.action} cannot be converted: ${u.why}` });
    }
  }
}

