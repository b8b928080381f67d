// The env files the cluster scripts write (`export NAME="value"` lines):
// provider addresses, credentials files, the test CA.
import { readFileSync } from 'node:fs';

export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^export (\w+)="?([^"]*)"?$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
