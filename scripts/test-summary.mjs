// Prints the closing lines for CI from vitest's JSON reports, one per vitest
// run, given as "name|report|log": each failed test with its file and the
// first lines of its failure, then "Tests: N passed, N failed, N skipped".
// A run that did not start (no report, or one with no test in it and
// success false: its global setup failed) counts as one failure, and its
// error is quoted from the run's log. The failures are repeated here because
// CI keeps only the tail of a long log.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import process from 'node:process';

const MESSAGE_LINES = 6;

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const arg of process.argv.slice(2)) {
  const [name, file, log] = arg.split('|');
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    failures.push(`the ${name} run did not start: no report in ${file} (the vitest run crashed before writing it)${errorFrom(log)}`);
    continue;
  }
  if (!report.success && report.numTotalTests === 0) {
    failed += 1;
    failures.push(`the ${name} run did not start: not one test ran (its global setup failed, or no test file was found)${errorFrom(log)}`);
    continue;
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  for (const suite of report.testResults ?? []) {
    const where = relative(process.cwd(), suite.name);
    const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of failedTests) {
      failures.push(`${where} > ${test.fullName}\n${firstLines((test.failureMessages ?? []).join('\n'))}`);
    }
    // A file that failed outside any test (import error, hook) has no failed test to show.
    if (suite.status === 'failed' && failedTests.length === 0) {
      failures.push(`${where}\n${firstLines(suite.message ?? '')}`);
    }
  }
}
if (failures.length > 0) {
  process.stdout.write(`\nFailed:\n${failures.map((f) => `- ${f}`).join('\n')}\n\n`);
}
process.stdout.write(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);

function firstLines(text) {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !/node_modules|<anonymous>|node:internal/.test(line))
    .slice(0, MESSAGE_LINES)
    .map((line) => `    ${line}`)
    .join('\n');
}

/** The first error line of a run's log (colours removed), quoted; '' when there is none. */
function errorFrom(log) {
  if (!log || !existsSync(log)) return '';
  // eslint-disable-next-line no-control-regex -- the escape that starts a colour code
  const text = readFileSync(log, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const lines = text.split('\n').map((l) => l.trim());
  const line = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.find((l) => l.startsWith('No test files found'));
  return line ? `:\n    ${line.trim()}` : '';
}
