// Adds up every suite's results into one closing line, `N passed, N failed`. A suite that left no report, a
// failed global setup, or a skipped test counts as a failure: nothing may pass by not running.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VitestReport {
  success: boolean;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  numTotalTests: number;
}

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let failed = 0;
const problems: string[] = [];

// One report per vitest invocation: unit+integration, and the e2e suite on a real node.
for (const file of ['vitest.json', 'vitest-e2e.json']) {
  const vitestFile = join(dir, file);
  if (existsSync(vitestFile)) {
    const report = JSON.parse(readFileSync(vitestFile, 'utf8')) as VitestReport;
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    const skipped = report.numPendingTests + report.numTodoTests;
    if (skipped > 0) {
      failed += skipped;
      problems.push(`vitest: ${skipped} skipped or todo tests count as failed`);
    }
    if (report.numFailedTestSuites > 0) {
      // Files that failed without a failing test (import or hook errors) add to the count; others are counted above.
      if (report.numFailedTests === 0) failed += report.numFailedTestSuites;
      problems.push(`vitest: ${report.numFailedTestSuites} test files failed (failing tests, or setup and import errors)`);
    }
    if (!report.success && report.numFailedTests === 0 && report.numFailedTestSuites === 0) {
      failed += 1;
      problems.push('vitest: the run failed outside any test (global setup?)');
    }
  } else {
    failed += 1;
    problems.push(`vitest: no report at ${vitestFile} (the run did not finish)`);
  }
}

const goFile = join(dir, 'go.json');
if (existsSync(goFile)) {
  let goTests = 0;
  for (const line of readFileSync(goFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { Action?: string; Test?: string; Package?: string };
    if (!event.Test) {
      if (event.Action === 'fail') {
        failed += 1;
        problems.push(`go: package ${event.Package} failed`);
      }
      continue;
    }
    if (event.Action === 'pass') { passed += 1; goTests += 1; }
    else if (event.Action === 'fail') { failed += 1; goTests += 1; }
    else if (event.Action === 'skip') { failed += 1; problems.push(`go: ${event.Test} skipped`); }
  }
  if (goTests === 0) {
    failed += 1;
    problems.push('go: no test ran');
  }
} else {
  failed += 1;
  problems.push(`go: no report at ${goFile}`);
}

for (const problem of problems) console.log(problem);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
