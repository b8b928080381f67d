// On a terminal, `migrate` shows "migrating N/M files" on one line; a finding
// written meanwhile clears that line first instead of running on after it.
// `script` gives the command a real terminal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bundle = join(import.meta.dirname, '../../dist/bundle/main.mjs');
const dir = mkdtempSync(join(tmpdir(), 'migrate-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migrate on a terminal', () => {
  it('a finding starts a line of its own, not the end of the progress line', () => {
    for (let i = 0; i < 25; i++) {
      const body = i === 10 ? 'a: [\n' : `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: es-${i} }\nspec:\n  secretStoreRef: { name: vault }\n  data: [{ secretKey: k, remoteRef: { key: apps/db } }]\n`;
      writeFileSync(join(dir, `es-${String(i).padStart(2, '0')}.yaml`), body);
    }
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    let out: string;
    try {
      out = execFileSync('script', ['-qefc', `${quote(process.execPath)} ${quote(bundle)} migrate ${quote(dir)} >/dev/null`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    } catch (err) {
      out = (err as { stdout: string }).stdout; // exit 1: the broken file is an error
    }
    expect(out).toContain('migrating 25/25 files');
    expect(out).toMatch(new RegExp(`\\r\\u001b\\[2K${dir}/es-10\\.yaml:\\d+: error: YAML`));
    expect(out).not.toMatch(/files[^\r\n]*\.yaml:\d+: error/);
  });
});
