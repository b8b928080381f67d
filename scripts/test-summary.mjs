// Prints the closing lines for CI from vitest's JSON reports (one per vitest
// run; a report a crashed run did not write counts as one failure): each
// failed test with its file and the first lines of its failure, then
// "Tests: N passed, N failed, N skipped". The failures are repeated here
// because CI keeps only the tail of a long log.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import process from 'node:process';

const MESSAGE_LINES = 6;

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    failures.push(`${file}: no report (the vitest run crashed before writing it)`);
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
