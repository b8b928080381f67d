// Prints one plain closing line for CI from vitest's JSON reports (one per
// vitest run; a report a crashed run did not write counts as one failure):
// "Tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';
import process from 'node:process';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    failed += 1;
    continue;
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
process.stdout.write(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
