import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The cache directory that a build script's `--path` prints: what `make testbin` or `make node` built
 * (test/testbin/build*.sh, test/node/build.sh, test/demo/images.sh). Tests never build: when it is not built this
 * throws with the script's own message (which names the make target), or with `missing`, and the suite fails
 * instead of skipping.
 */
export function builtPath(script: string, missing: string): string {
  try {
    return execFileSync('bash', [script, '--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(stderr.trim() || missing, { cause: err });
  }
}

/** The directory with the control-plane binaries that `make testbin` built (or $SKILLPOD_TESTBIN). */
export function testbinDir(): string {
  if (process.env.SKILLPOD_TESTBIN) return process.env.SKILLPOD_TESTBIN;
  return builtPath(fileURLToPath(new URL('../testbin/build.sh', import.meta.url)), 'control-plane binaries are not built: run make testbin');
}
