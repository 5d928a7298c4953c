import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The directory with the control-plane binaries that `make testbin` built. Tests never build: if the binaries are
 * missing this throws with the command to run, and the suite fails instead of skipping.
 */
export function testbinDir(): string {
  if (process.env.SKILLPOD_TESTBIN) return process.env.SKILLPOD_TESTBIN;
  const script = fileURLToPath(new URL('../testbin/build.sh', import.meta.url));
  try {
    return execFileSync('bash', [script, '--path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(stderr.trim() || 'control-plane binaries are not built: run make testbin', { cause: err });
  }
}
