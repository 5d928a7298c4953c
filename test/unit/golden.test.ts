// The golden-file helper (test/harness/golden.ts): a missing golden file fails, UPDATE_GOLDEN writes, CI never does.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectGolden, underCI } from '../harness/golden.ts';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skillpod-golden-'));
  file = join(dir, 'x.golden.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('expectGolden', () => {
  it('fails on a missing golden file and creates nothing', () => {
    expect(() => expectGolden(file, 'a: 1\n', {})).toThrow(/missing golden file .*x\.golden\.yaml: run with UPDATE_GOLDEN=1/);
    expect(existsSync(file)).toBe(false);
  });

  it('fails on a missing golden file under UPDATE_GOLDEN=1 too, writing it for review', () => {
    expect(() => expectGolden(file, 'a: 1\n', { UPDATE_GOLDEN: '1' })).toThrow(/did not exist: written now for review/);
    expect(readFileSync(file, 'utf8')).toBe('a: 1\n');
    // The next run, without UPDATE_GOLDEN, compares with what was written.
    expectGolden(file, 'a: 1\n', {});
  });

  it('passes when the output equals the file, and fails when it differs', () => {
    writeFileSync(file, 'a: 1\n');
    expectGolden(file, 'a: 1\n', {});
    expect(() => expectGolden(file, 'a: 2\n', {})).toThrow(/golden file .*x\.golden\.yaml/);
    expect(readFileSync(file, 'utf8')).toBe('a: 1\n');
  });

  it('rewrites an existing golden file under UPDATE_GOLDEN=1', () => {
    writeFileSync(file, 'a: 1\n');
    expectGolden(file, 'a: 2\n', { UPDATE_GOLDEN: '1' });
    expect(readFileSync(file, 'utf8')).toBe('a: 2\n');
  });

  it('refuses UPDATE_GOLDEN under CI, writing nothing, for a changed file and for a missing one', () => {
    writeFileSync(file, 'a: 1\n');
    expect(() => expectGolden(file, 'a: 2\n', { UPDATE_GOLDEN: '1', CI: 'true' })).toThrow(/UPDATE_GOLDEN is refused under CI/);
    expect(readFileSync(file, 'utf8')).toBe('a: 1\n');
    const missing = join(dir, 'new.golden.yaml');
    expect(() => expectGolden(missing, 'a: 1\n', { UPDATE_GOLDEN: '1', CI: '1' })).toThrow(/refused under CI/);
    expect(existsSync(missing)).toBe(false);
  });

  it('takes CI and UPDATE_GOLDEN as set unless empty, 0 or false', () => {
    expect([underCI({ CI: 'true' }), underCI({ CI: '1' }), underCI({ CI: 'yes' })]).toEqual([true, true, true]);
    expect([underCI({}), underCI({ CI: '' }), underCI({ CI: '0' }), underCI({ CI: 'false' })]).toEqual([false, false, false, false]);
    writeFileSync(file, 'a: 1\n');
    expectGolden(file, 'a: 2\n', { UPDATE_GOLDEN: '1', CI: 'false' });
    expect(readFileSync(file, 'utf8')).toBe('a: 2\n');
    expect(() => expectGolden(file, 'a: 3\n', { UPDATE_GOLDEN: '0' })).toThrow(/golden file/);
  });
});
