import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// test/summarize.ts is what CI's last line comes from: a failure it misses would turn CI green.
const script = join(import.meta.dirname, '..', 'summarize.ts');
const dirs: string[] = [];
afterEach(() => { for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true }); });

interface Files { vitest?: object; e2e?: object; go?: object[]; markers?: string[] }

function summarize(files: Files): { code: number; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'summarize-'));
  dirs.push(dir);
  if (files.vitest) writeFileSync(join(dir, 'vitest.json'), JSON.stringify(files.vitest));
  if (files.e2e) writeFileSync(join(dir, 'vitest-e2e.json'), JSON.stringify(files.e2e));
  if (files.go) writeFileSync(join(dir, 'go.json'), files.go.map((event) => JSON.stringify(event)).join('\n'));
  for (const marker of files.markers ?? []) writeFileSync(join(dir, marker), '');
  try {
    return { code: 0, lines: execFileSync(process.execPath, [script, dir], { encoding: 'utf8' }).trim().split('\n') };
  } catch (error) {
    const failure = error as { status: number; stdout: string };
    return { code: failure.status, lines: failure.stdout.trim().split('\n') };
  }
}

function vitest(files: { name: string; status?: 'failed' | 'passed'; message?: string; tests: [string, string][] }[]) {
  const tests = files.flatMap((file) => file.tests);
  return {
    success: files.every((file) => file.status !== 'failed' && file.tests.every(([, status]) => status !== 'failed')),
    numPassedTests: tests.filter(([, status]) => status === 'passed').length,
    numPendingTests: tests.filter(([, status]) => status === 'skipped').length,
    numTodoTests: 0,
    testResults: files.map((file) => ({
      name: join(process.cwd(), file.name),
      status: file.status ?? (file.tests.some(([, status]) => status === 'failed') ? 'failed' : 'passed'),
      message: file.message ?? '',
      assertionResults: file.tests.map(([fullName, status]) => ({
        fullName, status, failureMessages: status === 'failed' ? [`\nAssertionError: ${fullName} broke\n    at x`] : [],
      })),
    })),
  };
}

const goPass = [{ Action: 'pass', Package: 'exec', Test: 'TestA' }, { Action: 'pass', Package: 'exec' }];
const green = vitest([{ name: 'a.test.ts', tests: [['a works', 'passed']] }]);

describe('the CI summary line', () => {
  it.each<[string, Files, number, string[]]>([
    ['all green', { vitest: green, e2e: green, go: goPass }, 0, ['3 passed, 0 failed']],
    ['a failing test is named with its first message line',
      { vitest: vitest([{ name: 'b.test.ts', tests: [['b works', 'passed'], ['b breaks', 'failed']] }]), e2e: green, go: goPass }, 1,
      ['FAIL b.test.ts > b breaks: AssertionError: b breaks broke', '3 passed, 1 failed']],
    ['a file that failed outside its tests counts even beside a failing test',
      { vitest: vitest([
        { name: 'b.test.ts', tests: [['b breaks', 'failed']] },
        { name: 'c.test.ts', status: 'failed', message: 'Hook timed out in 180000ms', tests: [['c works', 'passed']] },
      ]), e2e: green, go: goPass }, 1,
      ['FAIL b.test.ts > b breaks: AssertionError: b breaks broke', 'FAIL c.test.ts (outside any test): Hook timed out in 180000ms', '3 passed, 2 failed']],
    ['a skipped test counts as failed', { vitest: vitest([{ name: 'd.test.ts', tests: [['d', 'skipped']] }]), e2e: green, go: goPass }, 1,
      ['vitest: 1 skipped or todo tests count as failed', '2 passed, 1 failed']],
    ['a missing report counts as failed', { vitest: green, go: goPass }, 1,
      [expect.stringContaining('no report'), '2 passed, 1 failed']],
    ['a failed Go test is named', { vitest: green, e2e: green, go: [{ Action: 'fail', Package: 'exec', Test: 'TestB' }, { Action: 'fail', Package: 'exec' }] }, 1,
      ['FAIL go exec TestB', 'go: package exec failed', '2 passed, 2 failed']],
    ['a failed static check counts once, named', { vitest: green, e2e: green, go: goPass, markers: ['lint.failed', 'typecheck.failed'] }, 1,
      ['FAIL lint (see its output above)', 'FAIL typecheck (see its output above)', '3 passed, 2 failed']],
    ['a step outside the suites counts once, passed or failed', { vitest: green, e2e: green, go: goPass, markers: ['make-demo.passed'] }, 0,
      ['4 passed, 0 failed']],
    ['a failed step outside the suites is named', { vitest: green, e2e: green, go: goPass, markers: ['make-demo.failed'] }, 1,
      ['FAIL make-demo (see its output above)', '3 passed, 1 failed']],
    ['a Go run with no test counts as failed', { vitest: green, e2e: green, go: [] }, 1, ['go: no test ran', '2 passed, 1 failed']],
  ])('%s', (_name, files, code, lines) => {
    const result = summarize(files);
    expect(result.lines).toEqual(lines);
    expect(result.code).toBe(code);
  });
});
