// The Password generator: ESO's rules (length 24, a quarter digits and a
// quarter symbols by default, no repeats unless allowed), from the
// operating system's CSPRNG, positions shuffled so the character classes do
// not sit in a predictable order.
import { randomInt } from 'node:crypto';
import type { PasswordSpec } from '../api/generated.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
export const DEFAULT_SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';

export function generatePassword(spec: PasswordSpec): string {
  const length = spec.length ?? 24;
  const digits = spec.digits ?? Math.floor(length / 4);
  const symbols = spec.symbols ?? Math.floor(length / 4);
  const symbolSet = spec.symbolCharacters ?? DEFAULT_SYMBOLS;
  const letters = spec.noUpper ? LOWER : LOWER + UPPER;
  if (digits + symbols > length) throw new Error(`digits (${digits}) plus symbols (${symbols}) exceed length ${length}`);
  if (symbols > 0 && symbolSet.length === 0) throw new Error('symbols needs symbolCharacters');
  const used = new Set<string>();
  const pick = (set: string, what: string): string => {
    const free = spec.allowRepeat ? set : [...set].filter((c) => !used.has(c)).join('');
    if (free.length === 0) throw new Error(`not enough distinct ${what} for length ${length} without allowRepeat`);
    const c = free[randomInt(free.length)]!;
    used.add(c);
    return c;
  };
  const chars: string[] = [];
  for (let i = 0; i < digits; i++) chars.push(pick(DIGITS, 'digits'));
  for (let i = 0; i < symbols; i++) chars.push(pick(symbolSet, 'symbols'));
  for (let i = digits + symbols; i < length; i++) chars.push(pick(letters, 'letters'));
  // Fisher-Yates with the CSPRNG.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
