// `secretsync migrate <files|dirs|->`: External Secrets Operator manifests
// converted into secretsync manifests, file by file, keeping comments, key
// order, formatting and every other document as it was. Output goes to
// stdout, back into the files (--write), or under --out-dir with the same
// relative paths. Warnings and errors name the file, its line and the field,
// on stderr.
//
// All inputs are read first: an ExternalSecret's conversion depends on its
// store (Vault keys are read relative to the store's path; the ExternalSecrets
// of a store that cannot be converted stay too) and converts the ConfigMaps
// and Secrets it takes templates from. A converted document must then pass
// what `secretsync validate` checks, or it is an error and stays as it was.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { isAlias, LineCounter, parseAllDocuments, parseDocument, visit, YAMLParseError, type Document } from 'yaml';
import { asText, filesOf, lineFinder, readStdin } from './manifests.js';
import { MigrateContext } from './migrate/context.js';
import { convertDocument, ESO_VERSIONS, type Converted } from './migrate/convert.js';
import type { MigrateFinding } from './migrate/converter.js';
import { keepFormat } from './migrate/keep-format.js';
import { listItems, madeByClusterExternalSecret } from './migrate/live-objects.js';
import { convertTemplateSource } from './migrate/template-sources.js';
import { progress, styler } from './style.js';
import { checkManifest } from './validate.js';

interface Part {
  /** Its own source: comments and the --- marker included. */
  source: string;
  doc: Document;
  counter: LineCounter;
  /** Line of its first YAML error. */
  errorLine: number;
  /** An item of a `kind: List` (kubectl's export): its line in the file, where every finding of it is reported. */
  listLine?: number;
}

interface InputFile {
  input: string;
  file: string;
  parts: Part[];
  crlf: boolean;
  bom: boolean;
}

async function readInput(input: string, file: string): Promise<InputFile> {
  const raw = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  const bom = raw.startsWith('\uFEFF');
  const crlf = /\r\n/.test(raw);
  // Converted as LF text; written back with the line endings and BOM it came with.
  const text = (bom ? raw.slice(1) : raw).replace(/\r\n/g, '\n');
  const counter = new LineCounter();
  const parts: Part[] = [];
  let previousEnd = 0;
  for (const doc of parseAllDocuments(text, { lineCounter: counter })) {
    danglingAliases(doc);
    const source = text.slice(previousEnd, doc.range[2]).replace(/^\n+/, '').replace(/\s*$/, '\n');
    previousEnd = doc.range[2];
    const items = doc.errors.length === 0 ? listItems(doc) : undefined;
    if (items) {
      // kubectl's export: one document per item, each on the line of its item.
      const lines = (doc.get('items', true) as { items: Array<{ range?: [number, number, number] }> }).items.map((n) => counter.linePos(n.range?.[0] ?? 0).line);
      for (const [n, item] of items.entries()) {
        const itemSource = item.toString();
        const itemCounter = new LineCounter();
        parts.push({ source: itemSource, doc: parseDocument(itemSource, { lineCounter: itemCounter }), counter: itemCounter, errorLine: 0, listLine: lines[n] ?? 0 });
      }
      continue;
    }
    // Lines are looked up in the document as written (conversion edits it in place).
    parts.push({ source, doc, counter, errorLine: doc.errors[0] ? counter.linePos(doc.errors[0].pos[0]).line : 0 });
  }
  return { input, file, parts, crlf, bom };
}

/** An alias to an anchor the document does not have (another document's, say) is a YAML error of this one. */
function danglingAliases(doc: Document): void {
  if (doc.errors.length > 0) return;
  visit(doc, {
    Alias: (_, alias) => {
      if (isAlias(alias) && !alias.resolve(doc)) {
        const at = alias.range?.[0] ?? 0;
        doc.errors.push(new YAMLParseError([at, at + 1], 'BAD_ALIAS', `the alias *${alias.source} has no anchor in this document (anchors do not reach across ---)`));
      }
    },
  });
}

const isEso = (doc: Document) => ESO_VERSIONS.includes(asText(doc.getIn(['apiVersion'])));
const kindOf = (doc: Document) => asText(doc.getIn(['kind']));
const namespaceOf = (doc: Document) => asText(doc.getIn(['metadata', 'namespace'])) || undefined;

/** A conversion, with what validate says about its result. */
interface Checked {
  result: Converted;
  invalid: MigrateFinding[];
}

async function convertChecked(doc: Document, context: MigrateContext, file: string): Promise<Checked> {
  const result = convertTemplateSource(doc, context) ?? convertDocument(doc, context);
  return { result, invalid: result.eso && !result.unchanged ? await stillInvalid(result.docs, file) : [] };
}

/**
 * Everything a conversion needs from the other inputs (see context.ts), and
 * the stores' conversions, made here to know which are refused.
 */
async function buildContext(files: InputFile[]): Promise<{ context: MigrateContext; stores: Map<Document, Checked> }> {
  const context = new MigrateContext();
  const stores = new Map<Document, Checked>();
  const docs = files.flatMap((f) => f.parts).map((p) => p.doc).filter((d) => d.errors.length === 0);
  for (const doc of docs) {
    const kind = kindOf(doc);
    if (!isEso(doc)) continue;
    if (kind === 'ExternalSecret') context.addTemplateSources((doc.toJS() as { spec?: unknown }).spec, namespaceOf(doc));
    // A ClusterExternalSecret's ExternalSecrets read templates in every namespace it selects: matched by name only.
    if (kind === 'ClusterExternalSecret') context.addTemplateSources((doc.toJS() as { spec?: { externalSecretSpec?: unknown } }).spec?.externalSecretSpec, undefined);
    if (kind === 'SecretStore' || kind === 'ClusterSecretStore') {
      const providers = Object.keys((doc.getIn(['spec', 'provider']) as { toJSON?: () => object } | undefined)?.toJSON?.() ?? {});
      const provider = providers[0] === 'openbao' ? 'vault' : (providers[0] ?? '');
      const path = doc.getIn(['spec', 'provider', providers[0] ?? '', 'path']);
      const probe = await convertChecked(doc.clone(), context, '');
      stores.set(doc, probe);
      context.addStore({
        kind,
        name: asText(doc.getIn(['metadata', 'name'])),
        namespace: namespaceOf(doc),
        provider,
        vaultPath: provider === 'vault' && path !== undefined ? asText(path) : undefined,
        vaultVersion: provider === 'vault' ? asText(doc.getIn(['spec', 'provider', providers[0]!, 'version'])) || 'v2' : undefined,
        refused: probe.result.unchanged === true || probe.invalid.length > 0,
      });
    }
  }
  // Template sources are known once every ExternalSecret is.
  for (const doc of docs) {
    const kind = kindOf(doc);
    if (kind !== 'ConfigMap' && kind !== 'Secret') continue;
    const probe = convertTemplateSource(doc.clone(), context);
    context.addResource(kind, asText(doc.getIn(['metadata', 'name'])), namespaceOf(doc), probe?.findings.some((f) => f.severity === 'error') === true);
  }
  return { context, stores };
}

/** What `secretsync validate` would say about a converted document, as migrate findings. */
async function stillInvalid(converted: Document[], file: string): Promise<MigrateFinding[]> {
  const out: MigrateFinding[] = [];
  for (const doc of converted) {
    const obj = doc.toJS() as Record<string, unknown>;
    const kind = asText(obj.kind);
    const name = asText((obj.metadata as { name?: unknown } | undefined)?.name);
    const found = await checkManifest({ file, doc, obj, kind, name, lineOf: () => 0 });
    for (const f of found.filter((x) => x.severity === 'error')) {
      out.push({ path: f.path ?? '', severity: 'error', message: `the converted manifest would not work: ${f.message}` });
    }
  }
  return out;
}

export async function migrate(inputs: string[], opts: { write?: boolean; outDir?: string }): Promise<number> {
  const s = styler(process.stderr);
  const show = progress('migrating');
  let errors = 0;
  let converted = 0;
  const files: InputFile[] = [];
  for (const input of inputs) {
    try {
      for (const file of await filesOf(input)) files.push(await readInput(input, file));
    } catch (err) {
      process.stderr.write(`${input}: ${s.red('error')}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      errors++;
    }
  }
  const { context, stores } = await buildContext(files);
  const stdout: string[] = [];
  for (const [i, input] of files.entries()) {
    show(i + 1, files.length);
    const name = input.file === '-' ? '<stdin>' : input.file;
    const report = (line: number, level: 'error' | 'warning', what: string, message: string) => {
      if (level === 'error') errors++;
      show.clear();
      process.stderr.write(`${name}:${line}: ${level === 'error' ? s.red('error') : s.yellow('warning')}: ${what}${message}\n`);
    };
    let changed = false;
    const out: string[] = [];
    for (const part of input.parts) {
      const doc = part.doc;
      if (doc.errors.length > 0) {
        report(part.errorLine, 'error', '', `YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
        out.push(part.source);
        continue;
      }
      const meta = { kind: kindOf(doc), name: asText(doc.getIn(['metadata', 'name'])) };
      const madeBy = isEso(doc) && meta.kind === 'ExternalSecret' ? madeByClusterExternalSecret(doc) : undefined;
      if (madeBy !== undefined) {
        // The ClusterExternalSecret's conversion makes it again, in every namespace it selects.
        report(part.listLine ?? 1, 'warning', `${meta.kind}/${meta.name}: `, `(document): left out: ClusterExternalSecret "${madeBy}" made it, and its conversion makes it again`);
        changed = true;
        continue;
      }
      // Lines are looked up in the document as written (conversion edits it in place).
      const original = doc.clone();
      const lineOf = lineFinder(original, part.counter);
      const checked = stores.get(doc) ?? (await convertChecked(doc, context, name));
      let result = checked.result;
      if (checked.invalid.length > 0) result = { docs: [original], findings: [...result.findings, ...checked.invalid], eso: true, unchanged: true };
      // A document left as it was: its errors are what to fix; what its conversion would change is said on the next run.
      const refused = result.unchanged && result.findings.some((f) => f.severity === 'error');
      for (const f of result.findings.filter((x) => !refused || x.severity === 'error')) {
        const line = part.listLine ?? lineOf(f.path) + (f.templateLine ? f.templateLine - 1 : 0);
        report(line, f.severity, `${meta.kind}/${meta.name}: `, `${f.path || '(document)'}: ${f.message}`);
      }
      if (result.unchanged) {
        // Left alone: its own text, byte for byte.
        out.push(part.source);
        continue;
      }
      if (result.eso) converted += result.docs.length;
      changed = true;
      out.push(keepFormat(part.source, original, result.docs));
    }
    let body = out.map((p, n) => (n > 0 && !p.startsWith('---') ? `---\n${p}` : p)).join('');
    if (input.crlf) body = body.replace(/\n/g, '\r\n');
    if (input.bom) body = `\uFEFF${body}`;
    if (opts.outDir) {
      const dest = join(opts.outDir, input.file === '-' ? 'stdin.yaml' : relative(input.input === input.file ? dirname(input.input) : input.input, input.file));
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, body);
    } else if (opts.write && input.file !== '-') {
      if (changed) await writeFile(input.file, body);
    } else stdout.push(body);
  }
  if (stdout.length > 0) process.stdout.write(stdout.map((b, n) => (n === 0 ? b : `---\n${b}`)).join(''));
  process.stderr.write(`${converted} manifest(s) converted, ${errors} error(s)\n`);
  return errors > 0 ? 1 : 0;
}
