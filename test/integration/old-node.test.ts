// The bundle on a Node.js older than it supports says so in one line and
// exits 1, instead of a TypeError and a screenful of minified code. Uses the
// machine's own older Node (Debian machines here ship Node 20) when it has one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const bundle = join(import.meta.dirname, '../../dist/bundle/main.mjs');
const older = ['/usr/bin/node', '/usr/local/bin/node'].find((bin) => {
  if (!existsSync(bin)) return false;
  return Number(execFileSync(bin, ['-p', 'process.versions.node.split(".")[0]']).toString().trim()) < 24;
});

describe('an older Node.js', () => {
  it.skipIf(!older)(`says which Node is needed in one line and exits 1 (${older ?? 'no older Node on this machine'})`, () => {
    for (const args of [['--version'], ['validate', 'x.yaml'], ['run']]) {
      const out = spawnSync(older!, [bundle, ...args], { encoding: 'utf8', timeout: 10_000 });
      expect(out.status, args.join(' ')).toBe(1);
      expect(out.stdout).toBe('');
      expect(out.stderr).toMatch(/^secretsync needs Node\.js 24 or newer; \S+ is v\d+\.\d+\.\d+\n$/);
    }
  });
});
