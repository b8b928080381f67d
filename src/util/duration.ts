// Go-style durations ("1h30m", "250ms", "0"), as used by refreshInterval.
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go duration into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) throw new Error(`invalid duration "${text}": expected a Go duration such as 1h or 15m30s`);
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    matched++;
  }
  if (matched === 0) throw new Error(`invalid duration "${text}": expected a Go duration such as 1h or 15m30s`);
  return Math.round(total);
}
