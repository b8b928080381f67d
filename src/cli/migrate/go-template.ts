// External Secrets Operator templates (Go text/template with Sprig, engine v2)
// translated to secretsync's LiquidJS templates, for the common forms: a value
// (`.key`, `.a.b`, `index . "k"`), piped or called through the functions both
// engines have, with Go's whitespace trimming kept. Anything else (if, range,
// with, printf, other Sprig functions) is left as it was and reported with its
// line, so nothing is silently changed into something else.

/** ESO/Sprig function -> our filter, and how many string arguments it takes before the value. */
const FUNCTIONS: Record<string, { filter: string; args: number; fixedArgs?: string[] }> = {
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
  pkcs12key: { filter: 'pkcs12_key', args: 0, fixedArgs: ['""'] },
  pkcs12cert: { filter: 'pkcs12_cert', args: 0, fixedArgs: ['""'] },
  pkcs12keyPass: { filter: 'pkcs12_key', args: 1 },
  pkcs12certPass: { filter: 'pkcs12_cert', args: 1 },
};

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

function filterOf(name: string, args: string[]): string | undefined {
  const f = FUNCTIONS[name];
  if (!f || args.length !== f.args || !args.every((a) => /^"(?:[^"\\]|\\.)*"$/.test(a))) return undefined;
  const all = [...args, ...(f.fixedArgs ?? [])];
  return all.length > 0 ? `${f.filter}: ${all.join(', ')}` : f.filter;
}

/** One action's inside (between the delimiters and trim markers) as a Liquid output expression. */
function translateAction(inside: string): string | undefined {
  const commands = splitOutsideQuotes(inside.trim(), '|').map((c) => words(c.trim()));
  if (commands.some((c) => c.length === 0)) return undefined;
  const [first, ...rest] = commands;
  let expr = value(first!);
  const filters: string[] = [];
  if (expr === undefined) {
    // A call with the value last: `b64enc .key`, `filterPEM "CERTIFICATE" .pem`.
    const name = first![0]!;
    const argEnd = first!.length - 1;
    const subject = first!.slice(argEnd);
    const translated = value(subject);
    const filter = translated === undefined ? undefined : filterOf(name, first!.slice(1, argEnd));
    if (translated === undefined || filter === undefined) return undefined;
    expr = translated;
    filters.push(filter);
  }
  for (const command of rest) {
    const filter = filterOf(command[0]!, command.slice(1));
    if (filter === undefined) return undefined;
    filters.push(filter);
  }
  return [expr, ...filters].join(' | ');
}

/** The template in Liquid, and the actions left as they were. */
export function translateGoTemplate(source: string): { liquid: string; untranslated: Untranslated[] } {
  const untranslated: Untranslated[] = [];
  const liquid = source.replace(/\{\{(-?)([\s\S]*?)(-?)\}\}/g, (whole, open: string, inside: string, close: string, offset: number) => {
    const translated = inside.trim().startsWith('/*') ? undefined : translateAction(inside);
    if (translated === undefined) {
      const line = source.slice(0, offset).split('\n').length;
      const word = words(inside.trim())[0] ?? '';
      const why = ['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block'].includes(word)
        ? `"${word}" has no direct LiquidJS form here: rewrite it with {% if %} / {% for %} tags`
        : `"${word}" is not a function secretsync templates have (they have ${[...new Set(Object.values(FUNCTIONS).map((f) => f.filter))].join(', ')})`;
      untranslated.push({ line, action: whole, why });
      return whole;
    }
    return `{{${open ? '-' : ''} ${translated} ${close ? '-' : ''}}}`;
  });
  return { liquid, untranslated };
}
