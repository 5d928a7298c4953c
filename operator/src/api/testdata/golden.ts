// Golden files: compare with testdata/<name>, or rewrite it when UPDATE_GOLDEN=1.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;

/**
 * Returns the expected text; with UPDATE_GOLDEN=1 first writes `actual` as the new expectation. A missing file
 * fails the comparison rather than being created, so CI never blesses its own output.
 */
export function golden(name: string, actual: string): string {
  const path = join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  if (!existsSync(path)) return `missing golden file testdata/${name}: run with UPDATE_GOLDEN=1\n`;
  return readFileSync(path, 'utf8');
}
