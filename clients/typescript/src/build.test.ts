// The package as an agent image installs it: compiled JavaScript with declarations, loaded by plain Node (type
// stripping off, as it is for everything under node_modules) through the package's exports.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkgDir, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'skillpod-client-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('builds to dist/ with .js and .d.ts, and plain Node imports it from node_modules', () => {
  // Build a copy, so the test never races a build of the working tree.
  const copy = join(scratch, 'node_modules', '@skillpod', 'client');
  mkdirSync(copy, { recursive: true });
  for (const f of ['package.json', 'tsconfig.build.json', 'src']) cpSync(join(pkgDir, f), join(copy, f), { recursive: true });
  writeFileSync(join(copy, 'tsconfig.json'), readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  const tsconfig = JSON.parse(readFileSync(join(copy, 'tsconfig.build.json'), 'utf8')) as { extends: string };
  tsconfig.extends = './tsconfig.json';
  writeFileSync(join(copy, 'tsconfig.build.json'), JSON.stringify(tsconfig));
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(copy, 'tsconfig.build.json'), '--typeRoots', join(root, 'node_modules/@types')], { stdio: 'pipe' });
  for (const f of ['index.js', 'index.d.ts']) expect(existsSync(join(copy, 'dist', f)), f).toBe(true);
  expect(existsSync(join(copy, 'dist', 'client.test.js'))).toBe(false);
  expect(readFileSync(join(copy, 'dist', 'index.d.ts'), 'utf8')).toContain('export declare class SkillClient');
  const out = execFileSync(process.execPath, ['--no-experimental-strip-types', '--input-type=module', '-e',
    "const m = await import('@skillpod/client'); console.log(typeof m.SkillClient, typeof m.listSkills, typeof m.ExecutorError, m.DEFAULT_IPC_DIR)"],
  { cwd: scratch, encoding: 'utf8' });
  expect(out.trim()).toBe('function function function /ipc');
});
