// Two runs installing into the cache at once (make test in one clone, make
// dev-up in another): the second waits for the first's lock instead of
// building into the same .tmp folder (scripts/lib.sh lock_cache), and an
// install script called by one holding the lock does not wait for itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const lib = join(import.meta.dirname, '../../scripts/lib.sh');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** bash with lib.sh sourced and `script` run after it; resolves with its exit code and stderr. */
function run(script: string, cache: string, env: Record<string, string> = {}) {
  const child = spawn('bash', ['-c', `source '${lib}'\n${script}`], { env: { ...process.env, SECRETSYNC_CACHE: cache, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  // 'close', not 'exit': a process can exit before its output has been read.
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, done, stderr: () => stderr, stdout: () => stdout };
}

describe('lock_cache', () => {
  it('a second run waits for the first, then goes on; a nested script does not wait for its caller', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'secretsync-cache-'));
    dirs.push(cache);
    // The first holds the lock until told to go on (a line on stdin), and runs a nested locker meanwhile.
    const first = run('lock_cache; echo locked; bash -c "source \'' + lib + '\'; lock_cache; echo nested"; read -r _; echo released', cache);
    await expect.poll(() => first.stdout(), { timeout: 10_000 }).toContain('nested');
    const second = run('lock_cache; echo second', cache);
    await expect.poll(() => second.stderr(), { timeout: 10_000 }).toContain(`another run is installing into ${cache}; waiting for it to finish`);
    expect(second.stdout()).toBe('');
    first.child.stdin.end('go\n');
    expect(await first.done).toBe(0);
    expect(await second.done).toBe(0);
    expect(second.stdout()).toBe('second\n');
  });
});
