// The flags table in docs/operations.md says what each flag takes by default;
// a user copies those values. Each must be accepted when passed back to its
// flag, and mean the same as leaving the flag out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { operatorProgram } from '../../src/operator-flags.js';

const operations = readFileSync(join(import.meta.dirname, '../../docs/operations.md'), 'utf8');
const rows = [...operations.matchAll(/^\| `(--[\w-]+)` \| (?:`([^`]*)`)? \|/gm)].map((m) => ({ flag: m[1]!, shown: m[2] }));

/** The value a user would type for what the table shows: quotes dropped, and for a default from the environment the value without it. */
function typed(shown: string): string {
  const fromEnv = /^\$\w+, else (.*)$/.exec(shown);
  return (fromEnv ? fromEnv[1]! : shown).replace(/^"(.*)"$/, '$1');
}

const parse = (args: string[]) => operatorProgram().exitOverride().configureOutput({ writeErr: () => undefined }).parse(['node', 'secretsync', ...args]).opts();

describe('the flags table in docs/operations.md', () => {
  it('lists every flag of the operator', () => {
    const flags = operatorProgram().options.map((o) => o.long);
    expect(rows.map((r) => r.flag).sort()).toEqual([...flags].sort());
  });

  it.each(rows.filter((r) => r.shown !== undefined && r.shown !== 'false'))('$flag accepts the default it shows ($shown), and it means the same as no flag', ({ flag, shown }) => {
    const defaults = parse([]);
    const given = parse([flag, typed(shown!)]);
    expect(given).toEqual(defaults);
  });

  it('shows a switch as false and takes no value for it', () => {
    const switches = rows.filter((r) => r.shown === 'false').map((r) => r.flag);
    expect(switches.length).toBeGreaterThan(0);
    for (const flag of switches) expect(operatorProgram().options.find((o) => o.long === flag)?.required).toBe(false);
  });

  it('refuses a duration written as the milliseconds it parses to (what the table once showed), naming the flag', () => {
    expect(() => parse(['--provider-timeout', '30000'])).toThrow(/--provider-timeout/);
  });
});
