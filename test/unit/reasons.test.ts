// Every reason the operator can show (conditions and Events) is explained
// in one place, so `secretsync explain` and docs/troubleshooting.md know it:
// a reason added to the code without its entry fails here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ClusterExternalSecretReason, EventReason, PushReason, REASON_HELP, Reason, RestartReason, StoreReason } from '../../src/api/reasons.js';
import { explain } from '../../src/cli/explain.js';

const root = join(import.meta.dirname, '../..');
const all = [Reason, PushReason, StoreReason, RestartReason, ClusterExternalSecretReason, EventReason].flatMap((group) => Object.values(group) as string[]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function explained(reason: string): { code: number; text: string } {
  let text = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((text += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: explain(reason), text };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('reasons', () => {
  const page = readFileSync(join(root, 'docs/troubleshooting.md'), 'utf8');

  it.each(all)('%s is explained by `secretsync explain` and has its entry on the troubleshooting page', (reason) => {
    expect(REASON_HELP[reason], `REASON_HELP (src/api/reasons.ts) lacks ${reason}`).toBeDefined();
    const { code, text } = explained(reason);
    expect(code).toBe(0);
    expect(text).toContain(REASON_HELP[reason]!.todo);
    expect(page).toContain(`### ${reason}\n`);
  });

  it('explains nothing that is not a reason of the API', () => {
    expect(Object.keys(REASON_HELP).filter((r) => !all.includes(r))).toEqual([]);
  });

  it('every Event the operator records names its reason through those constants, never a string of its own', () => {
    const literal: string[] = [];
    for (const file of sources(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\.emit\([^;]*?'(Normal|Warning)'\s*,\s*'([^']+)'/g)) literal.push(`${file.slice(root.length + 1)}: ${m[2]}`);
    }
    expect(literal).toEqual([]);
  });
});
