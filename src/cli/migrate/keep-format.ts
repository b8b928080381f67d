// A converted document written with the formatting its author chose. The
// YAML library re-serialises a whole document in its own style (re-indented
// lists, `{a: b}` flow maps), so instead the conversion is applied as a
// three-way merge: the original serialised is the base, the author's text
// one side (formatting only), the converted document serialised the other
// (conversion only). Lines the conversion did not touch stay byte for byte;
// the result is re-parsed and used only when it means exactly the converted
// document, otherwise the plain serialisation is written.
import { isDeepStrictEqual } from 'node:util';
import { diff3Merge } from 'node-diff3';
import { parseAllDocuments, type Document, type ToStringOptions } from 'yaml';

/** Serialiser options that match how `source` is written, so changed lines look like their neighbours. */
export function styleOf(source: string): ToStringOptions {
  const lines = source.split('\n');
  let indent = 0;
  let indentSeq: boolean | undefined;
  for (let i = 0; i + 1 < lines.length; i++) {
    const parent = /^(\s*)(?:- )?[^\s#][^:]*:\s*(#.*)?$/.exec(lines[i]!);
    const child = /^(\s*)(- )?\S/.exec(lines[i + 1]!);
    if (!parent || !child) continue;
    const own = parent[1]!.length + (lines[i]!.trimStart().startsWith('- ') ? 2 : 0);
    const step = child[1]!.length - own;
    if (child[2] && indentSeq === undefined) indentSeq = step > 0;
    if (!child[2] && step > 0 && indent === 0) indent = step;
  }
  // Flow collections: `{ a: b }` or `{a: b}`, whichever the file uses more (quotes, comments and templates aside).
  const code = source.replace(/"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|#.*$|\{\{[\s\S]*?\}\}/gm, '');
  const padded = code.match(/[{[] /g)?.length ?? 0;
  const tight = code.match(/[{[][^\s}\]]/g)?.length ?? 0;
  return { indent: indent || 2, indentSeq: indentSeq ?? true, flowCollectionPadding: padded >= tight, lineWidth: 0 };
}

/**
 * `converted` as text, keeping `source`'s own lines wherever the conversion
 * left them alone. `original` is the document parsed from `source`.
 */
export function keepFormat(source: string, original: Document, converted: Document[]): string {
  const style = styleOf(source);
  const plain = converted.map((d) => d.toString(style)).join('---\n');
  if (converted.length !== 1) return plain;
  const lines = (text: string) => text.replace(/\n$/, '').split('\n');
  const merged: string[] = [];
  for (const region of diff3Merge(lines(source), lines(original.toString(style)), lines(plain))) {
    if (region.ok) merged.push(...region.ok);
    else if (region.conflict) {
      const { a, o, b } = region.conflict;
      // Neighbouring lines, one reformatted and one converted: resolved line by line when they pair up.
      if (a.length === o.length && o.length === b.length) merged.push(...b.map((line, i) => (line === o[i] ? a[i]! : line)));
      else merged.push(...b);
    }
  }
  const text = `${merged.join('\n')}\n`;
  const reparsed = parseAllDocuments(text);
  const same = Array.isArray(reparsed) && reparsed.length === 1 && reparsed[0]!.errors.length === 0
    && isDeepStrictEqual(reparsed[0]!.toJS(), converted[0]!.toJS());
  return same ? text : plain;
}
