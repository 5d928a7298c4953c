// The one way tests run kubectl: the testbin's own build (the server's version, `make testbin`), against the test
// control plane as the admin unless told otherwise, with a scratch HOME and no kuberc, so nothing of the machine's
// ~/.kube (config, kuberc, discovery cache) is read or written.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testCluster } from './context.ts';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Another kubeconfig than the admin's of the test control plane. */
  kubeconfig?: string;
}

let scratch: string | undefined;

/** A HOME of this test file's own in the cluster's directory: its discovery cache never outlives the file. */
function home(): string {
  scratch ??= mkdtempSync(join(testCluster.info().dir, 'kubectl-home-'));
  return scratch;
}

/** Runs kubectl; never throws for a non-zero exit: the exit code, stdout and stderr are the result. */
export async function kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const { binDir, kubeconfig } = testCluster.info();
  const config = options.kubeconfig ?? kubeconfig;
  const child = run(join(binDir, 'kubectl'), ['--kubeconfig', config, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: home(), KUBECONFIG: config, KUBERC: 'off' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
  child.child.stdin?.end(options.input ?? '');
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr || String(err) };
  }
}

/** Runs kubectl that must succeed; its stdout. A non-zero exit throws with the command and its stderr. */
export async function kubectlOk(args: string[], options: KubectlOptions = {}): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}
