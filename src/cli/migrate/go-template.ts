// External Secrets Operator templates (Go text/template with Sprig, engine v2)
// translated to secretsync's LiquidJS templates, for the common forms: a value
// (`.key`, `.a.b`, `index . "k"`), piped or called through the functions both
// engines have, with Go's whitespace trimming kept. Anything else (if, range,
// with, printf, other Sprig functions) is left as it was and reported with its
// line, so nothing is silently changed into something else.
//
// Values differ in one way: ESO's are raw bytes, ours are text with
// `base64.<key>` as the exact bytes. So ESO's PKCS#12 functions, which take
// the archive's bytes, read `base64.<key>` here, and `b64dec` before them
// (the archive stored as base64 text) is ours already.

/** ESO/Sprig function -> our filter, and how many string arguments it takes before the value. */
const FUNCTIONS: Record<string, { filter: string; args: number }> = {
  b64enc: { filter: 'b64enc', args: 0 },
  b64dec: { filter: 'b64dec', args: 0 },
  fromJson: { filter: 'fromjson', args: 0 },
  toJson: { filter: 'tojson', args: 0 },
  fromYaml: { filter: 'fromyaml', args: 0 },
  toYaml: { filter: 'toyaml', args: 0 },
  upper: { filter: 'upper', args: 0 },
  lower: { filter: 'lower', args: 0 },
  trim: { filter: 'trim', args: 0 },
  filterPEM: { filter: 'filter_pem', args: 1 },
  pkcs12key: { filter: 'pkcs12_key', args: 0 },
  pkcs12cert: { filter: 'pkcs12_cert', args: 0 },
  pkcs12keyPass: { filter: 'pkcs12_key', args: 1 },
  pkcs12certPass: { filter: 'pkcs12_cert', args: 1 },
  replace: { filter: 'replace', args: 2 },
  join: { filter: 'join', args: 1 },
  quote: { filter: 'quote', args: 0 },
  squote: { filter: 'squote', args: 0 },
  // Every value is text already: toString changes nothing.
  toString: { filter: '', args: 0 },
};
const PKCS12 = new Set(['pkcs12key', 'pkcs12cert', 'pkcs12keyPass', 'pkcs12certPass']);

export interface Untranslated {
  /** 1-based line within the template. */
  line: number;
  action: string;
  why: string;
}


const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Splits on a separator outside double quotes. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && c === sep) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

function words(command: string): string[] {
  return command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

/** `.key`, `.a.b`, `index . "k"`, `.`: a Liquid expression, or undefined. */
function value(tokens: string[]): string | undefined {
  if (tokens.length === 1 && /^\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(tokens[0]!)) return tokens[0]!.slice(1);
  if (tokens.length === 3 && tokens[0] === 'index' && tokens[1] === '.' && /^"[^"]*"$/.test(tokens[2]!)) {
    const key = tokens[2]!.slice(1, -1);
    return IDENT.test(key) ? key : `[${tokens[2]}]`;
  }
  if (tokens.length === 1 && /^"(?:[^"\\]|\\.)*"$/.test(tokens[0]!)) return tokens[0];
  return undefined;
}

const QUOTED = /^"(?:[^"\\]|\\.)*"$/;

function filterOf(name: string, args: string[]): string | undefined {
  const f = FUNCTIONS[name];
  if (!f || args.length !== f.args || !args.every((a) => QUOTED.test(a))) return undefined;
  // ESO matches the PEM type whatever its case; ours matches it exactly.
  const all = name === 'filterPEM' ? args.map((a) => a.toUpperCase()) : args;
  return all.length > 0 ? `${f.filter}: ${all.join(', ')}` : f.filter;
}

/** One action's inside as a Liquid output expression, or the function it cannot translate. */
function translateAction(inside: string): { liquid: string } | { failed: string } {
  const commands = splitOutsideQuotes(inside.trim(), '|').map((c) => words(c.trim()));
  if (commands.some((c) => c.length === 0)) return { failed: inside.trim() };
  const [first, ...rest] = commands;
  let expr = value(first!);
  // [function name, Liquid filter] in order.
  const chain: Array<[string, string]> = [];
  if (expr === undefined) {
    // A call with the value last: `b64enc .key`, `filterPEM "CERTIFICATE" .pem`.
    const name = first![0]!;
    const argEnd = first!.length - 1;
    const translated = value(first!.slice(argEnd));
    const filter = translated === undefined ? undefined : filterOf(name, first!.slice(1, argEnd));
    if (translated === undefined || filter === undefined) return { failed: name };
    expr = translated;
    chain.push([name, filter]);
  }
  for (const command of rest) {
    const filter = filterOf(command[0]!, command.slice(1));
    if (filter === undefined) return { failed: command[0]! };
    chain.push([command[0]!, filter]);
  }
  const at = chain.findIndex(([name]) => PKCS12.has(name));
  if (at > 0 && chain[at - 1]![0] === 'b64dec') {
    chain.splice(at - 1, 1); // the base64 text is what ours takes
  } else if (at === 0) {
    // The raw archive bytes: ours reads them as base64.<key>.
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$|^\[".*"\]$/.test(expr)) return { failed: chain[0]![0] };
    expr = expr.startsWith('[') ? `base64${expr}` : `base64.${expr}`;
  } else if (at > 0) return { failed: chain[at]![0] };
  const filters = chain.map(([, f]) => f).filter((f) => f !== '');
  return { liquid: [expr, ...filters].join(' | ') };
}

/** The template in Liquid, and the actions left as they were. */
export function translateGoTemplate(source: string): { liquid: string; untranslated: Untranslated[] } {
  const untranslated: Untranslated[] = [];
  const lineAt = (offset: number) => source.slice(0, offset).split('\n').length;
  // Liquid tags are not Go's: left in, they would run as Liquid.
  for (const m of source.matchAll(/\{%/g)) untranslated.push({ line: lineAt(m.index), action: '{%', why: 'it is Liquid tag syntax, not text, in secretsync templates: escape it with {% raw %}' });
  const liquid = source.replace(/\{\{(-?)([\s\S]*?)(-?)\}\}/g, (whole, open: string, inside: string, close: string, offset: number) => {
    const translated = inside.trim().startsWith('/*') ? { failed: 'a comment' } : translateAction(inside);
    if ('failed' in translated) {
      const word = words(inside.trim())[0] ?? '';
      const why = ['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block'].includes(word)
        ? `"${word}" has no direct LiquidJS form here: rewrite it with {% if %} / {% for %} tags, then check it with secretsync render`
        : PKCS12.has(translated.failed)
          ? `"${translated.failed}" takes the archive bytes: only "{{ .key | ${translated.failed} }}" and "{{ .key | b64dec | ${translated.failed} }}" are converted`
          : `"${translated.failed}" is not a function secretsync templates have (they have ${[...new Set(Object.values(FUNCTIONS).map((f) => f.filter).filter(Boolean))].join(', ')})`;
      untranslated.push({ line: lineAt(offset), action: whole, why });
      return whole;
    }
    return `{{${open ? '-' : ''} ${translated.liquid} ${close ? '-' : ''}}}`;
  });
  untranslated.sort((a, b) => a.line - b.line);
  return { liquid, untranslated };
}

/**
 * A Go regexp replacement template ($1, ${1}, $name, ${name}, $$) in the
 * syntax secretsync's RE2 replacement takes ($1, $<name>, $$).
 */
export function translateRegexpTarget(target: string): string {
  return target.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (whole, _all: string, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined) return '$$';
    return /^\d+$/.test(name) ? `$${name}` : `$<${name}>`;
  });
}
