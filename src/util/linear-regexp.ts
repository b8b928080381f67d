// Regular expressions that tenants supply (find.name.regexp, rewrite.regexp,
// namespaceRegexes) run on RE2 (re2js, pure JavaScript): matching takes time
// linear in the input, so no pattern can pin the event loop the way
// "^(a|a)*$" does on V8's backtracking engine. RE2 has no backreferences or
// lookaround; such patterns are refused with a clear message.
import { RE2JS } from 're2js';

/** Longer patterns are refused: compiling is linear too, but there is no need for more. */
const MAX_PATTERN_LENGTH = 1024;

export class RegexpError extends Error {
  override readonly name = 'RegexpError';
}

export interface LinearRegexp {
  /** True when the pattern matches anywhere in text. */
  test(text: string): boolean;
  /** Replaces every match; `$1`, `${name}` refer to groups and `$$` is a dollar sign. */
  replaceAll(text: string, replacement: string): string;
}

/** Compiled patterns, so one used on every reconcile is compiled once. */
const compiled = new Map<string, LinearRegexp>();
const MAX_COMPILED = 1000;

/** Compiles a tenant's pattern; `what` names the field in the error message. */
export function compileLinear(source: string, what: string): LinearRegexp {
  const hit = compiled.get(source);
  if (hit) return hit;
  const re = compile(source, what);
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(source, re);
  return re;
}

function compile(source: string, what: string): LinearRegexp {
  if (source.length > MAX_PATTERN_LENGTH) throw new RegexpError(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    // re2js messages quote the pattern, not any secret: they are safe to show.
    throw new RegexpError(`${what} is not a valid RE2 regular expression (no backreferences or lookaround): ${(err as Error).message}`);
  }
  return {
    test: (text) => re.test(text),
    replaceAll: (text, replacement) => re.matcher(text).replaceAll(replacement),
  };
}
