// Requests OpenBao really received, from its file audit device (one
// "request" entry per request), as the tests and the bench count them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function openbaoRequests(stateDir: string): number {
  return openbaoRequestPaths(stateDir).length;
}

/** The API path of each request so far, in order (e.g. "secret/metadata/apps/db"); with `operation`, only those ("read", "update", ...). */
export function openbaoRequestPaths(stateDir: string, operation?: string): string[] {
  let log: string;
  try {
    log = readFileSync(join(stateDir, 'openbao-audit.log'), 'utf8');
  } catch {
    return [];
  }
  return log.split('\n').flatMap((line) => {
    if (!line.includes('"type":"request"')) return [];
    const entry = JSON.parse(line) as { request?: { path?: string; operation?: string } };
    if (operation !== undefined && entry.request?.operation !== operation) return [];
    return [entry.request?.path ?? ''];
  });
}
