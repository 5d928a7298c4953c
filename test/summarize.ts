// Adds up every suite's results into one closing line, `N passed, N failed`. A suite that left no report, a
// failed global setup, a skipped test, or a failed static check counts as a failure: nothing may pass by not running.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface VitestAssertion {
  fullName: string;
  status: string;
  failureMessages?: string[];
}

interface VitestFileResult {
  name: string;
  status: 'failed' | 'passed';
  message: string;
  assertionResults: VitestAssertion[];
}

interface VitestReport {
  success: boolean;
  numPassedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: VitestFileResult[];
}

/** The first line of a failure, enough to tell which check broke when only the tail of the log is kept. */
function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 300) ?? '';
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
    const skipped = report.numPendingTests + report.numTodoTests;
    if (skipped > 0) {
      failed += skipped;
      problems.push(`vitest: ${skipped} skipped or todo tests count as failed`);
    }
    let failedHere = 0;
    for (const fileResult of report.testResults) {
      const path = relative(process.cwd(), fileResult.name);
      const failures = fileResult.assertionResults.filter((a) => a.status === 'failed');
      for (const failure of failures) {
        problems.push(`FAIL ${path} > ${failure.fullName}: ${firstLine(failure.failureMessages?.[0])}`);
      }
      // A file can fail with no failing test (an import error, a hook that threw): it counts once.
      const fileFailure = fileResult.status === 'failed' && failures.length === 0 ? 1 : 0;
      if (fileFailure) problems.push(`FAIL ${path} (outside any test): ${firstLine(fileResult.message)}`);
      failedHere += failures.length + fileFailure;
    }
    if (!report.success && failedHere === 0) {
      failedHere = 1;
      problems.push(`vitest: ${file} reports a failed run outside any file (global setup?)`);
    }
    failed += failedHere;
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
    else if (event.Action === 'fail') { failed += 1; goTests += 1; problems.push(`FAIL go ${event.Package} ${event.Test}`); }
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

// The static checks (typecheck, lint, go vet) have no tests to count: `make test` leaves a marker when one fails.
// Steps outside the suites (`.ci/run` runs `make demo`) leave `<name>.passed` or `<name>.failed`: one check each.
for (const marker of (existsSync(dir) ? readdirSync(dir) : []).filter((name) => name.endsWith('.failed')).sort()) {
  failed += 1;
  problems.push(`FAIL ${marker.slice(0, -'.failed'.length)} (see its output above)`);
}
passed += (existsSync(dir) ? readdirSync(dir) : []).filter((name) => name.endsWith('.passed')).length;

for (const problem of problems) console.log(problem);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
