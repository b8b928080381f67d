// The closing lines of make test (scripts/test-summary.mjs): a run whose
// global setup failed wrote a report with no test in it, and the summary
// used to print only the other run's "13 passed, 0 failed"; it must name the
// run that did not start and quote its error from the log.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '../../scripts/test-summary.mjs');
const report = (over: object) => JSON.stringify({ numTotalTests: 0, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, success: true, testResults: [], ...over });

describe('test-summary', () => {
  it('names a run that did not start and quotes its error, and counts it as a failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'summary-'));
    writeFileSync(join(dir, 'main.json'), report({ success: false }));
    writeFileSync(join(dir, 'main.log'), '\n RUN  v5\n\n\x1b[31m⎯⎯ Unhandled Error ⎯⎯\x1b[39m\nError: control plane did not come up: port 26440 in use\n ❯ setup.ts:1:1\n');
    writeFileSync(join(dir, 'e2e.json'), report({ numTotalTests: 13, numPassedTests: 13 }));
    const out = execFileSync(process.execPath, [script, `unit and integration|${dir}/main.json|${dir}/main.log`, `e2e|${dir}/e2e.json|${dir}/e2e.log`], { encoding: 'utf8' });
    expect(out).toContain('- the unit and integration run did not start: not one test ran (its global setup failed, or no test file was found):\n    Error: control plane did not come up: port 26440 in use');
    expect(out.trim().split('\n').at(-1)).toBe('Tests: 13 passed, 1 failed, 0 skipped');
  });

  it('adds up the runs that did run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'summary-'));
    writeFileSync(join(dir, 'a.json'), report({ numTotalTests: 5, numPassedTests: 4, numPendingTests: 1 }));
    const out = execFileSync(process.execPath, [script, `unit|${dir}/a.json|${dir}/a.log`], { encoding: 'utf8' });
    expect(out.trim()).toBe('Tests: 4 passed, 0 failed, 1 skipped');
  });
});
