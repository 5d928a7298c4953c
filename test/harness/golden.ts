// Golden files, one helper for every golden test (operator/src/builders/golden.test.ts, operator/src/api/*.test.ts).
//
//   - Without UPDATE_GOLDEN: `actual` must equal the file, byte for byte.
//   - UPDATE_GOLDEN=1 rewrites an existing file with `actual` (read the diff before committing it).
//   - A missing golden file always fails. With UPDATE_GOLDEN=1 it is written for review, and the test still fails:
//     the run that made a golden file never approves it; the next run does, once someone has read it.
//   - Under CI (CI set, as GitHub Actions and .ci/run set it), UPDATE_GOLDEN is refused: CI never writes golden files.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const on = (value: string | undefined) => value !== undefined && !['', '0', 'false'].includes(value.toLowerCase());

/** Whether this process runs under CI. */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return on(env.CI);
}

/** Compares `actual` with the golden file at `file`, or (UPDATE_GOLDEN=1, never under CI) rewrites it. */
export function expectGolden(file: string | URL, actual: string, env: NodeJS.ProcessEnv = process.env): void {
  const path = typeof file === 'string' ? file : fileURLToPath(file);
  const update = on(env.UPDATE_GOLDEN);
  if (update && underCI(env)) {
    throw new Error(`UPDATE_GOLDEN is refused under CI (CI=${env.CI}): golden files are written and reviewed by people, never by CI`);
  }
  if (!existsSync(path)) {
    if (update) {
      writeFileSync(path, actual);
      throw new Error(`golden file ${path} did not exist: written now for review; read it, then run again without UPDATE_GOLDEN`);
    }
    throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1, read what it writes, and commit it`);
  }
  if (update) writeFileSync(path, actual);
  expect(actual, `golden file ${path} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}
