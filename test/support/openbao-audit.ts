// Requests OpenBao really received, from its file audit device (one
// "request" entry per request), as the tests and the bench count them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function openbaoRequests(stateDir: string): number {
  try {
    return readFileSync(join(stateDir, 'openbao-audit.log'), 'utf8').split('\n').filter((l) => l.includes('"type":"request"')).length;
  } catch {
    return 0;
  }
}
