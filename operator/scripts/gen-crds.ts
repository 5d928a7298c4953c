// Writes crds/*.yaml and docs/api.md from the zod schemas in operator/src/api.
// `--check` writes nothing and exits 1 when a checked-in file differs (CI, `make check`).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../src/api/generate.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const check = process.argv.includes('--check');

async function current(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

let stale = 0;
for (const file of generatedFiles()) {
  const path = join(root, file.path);
  if ((await current(path)) === file.content) continue;
  if (check) {
    console.error(`${file.path} is stale: run npm run gen:crds`);
    stale++;
  } else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
    console.log(`wrote ${file.path}`);
  }
}
if (stale) process.exit(1);
