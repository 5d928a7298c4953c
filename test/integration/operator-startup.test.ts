// The operator's start-up errors, with the real entry point (operator/src/main.ts in a child process, as `make run`
// starts it) against the real control plane: a port in use, a kubeconfig that is missing, empty or names no
// cluster, an API server that does not answer, credentials it refuses. Each ends the process with exit code 2 and
// exactly one log line that names the setting to change, and never a stack trace.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { freePort } from '../harness/ports.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const nodeBinary = join(repoRoot, 'node_modules/.bin/node');
const scratch = mkdtempSync(join(tmpdir(), 'operator-startup-'));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** main.ts with these flags and environment; PATH only, so nothing of the machine's kube setup leaks in. */
function operator(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Exit> {
  return new Promise((resolvePromise) => {
    execFile(nodeBinary, ['operator/src/main.ts', ...args], {
      cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, ...env },
    }, (err, stdout, stderr) => {
      resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

function kubeconfigFile(name: string, server: string, user: string): string {
  const file = join(scratch, name);
  writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "${server}", certificate-authority: "${testCluster.info().caCert}"}
users:
- name: u
  user: ${user}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`);
  return file;
}

/** The one fatal line: its fields, checked to be the only output and free of stack frames. */
function theLine(exit: Exit): { level: string; setting: string; msg: string } {
  expect(exit.code, `${exit.stdout}${exit.stderr}`).toBe(2);
  expect(exit.stderr).toBe('');
  // Every line is a JSON log line; one only is above info (a port in use is found after the 'starting' line), last.
  const lines = exit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; setting: string; msg: string });
  expect(lines.filter((l) => l.level !== 'info'), exit.stdout).toHaveLength(1);
  expect(exit.stdout).not.toMatch(/\n\s+at |\bstack\b/);
  const line = lines.at(-1)!;
  expect(line.level).toBe('fatal');
  expect(line.msg).toContain(line.setting.split(' ')[0]);
  return line;
}

describe('operator start-up errors: one line naming the setting, exit code 2', () => {
  let taken: Server;
  let takenPort: number;

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(() => taken.close());

  it('a port in use names --server-bind-address', async () => {
    const exit = await operator([`--server-bind-address=127.0.0.1:${takenPort}`], { KUBECONFIG: testCluster.info().kubeconfig });
    const line = theLine(exit);
    expect(line.setting).toBe('--server-bind-address (SKILLPOD_SERVER_BIND_ADDRESS)');
    expect(line.msg).toContain(`cannot serve /healthz, /readyz and /metrics on 127.0.0.1:${takenPort}: the address is already in use`);
  });

  it('the same port free again: the operator starts and serves /healthz (control)', async () => {
    const port = await freePort();
    const child = execFile(nodeBinary, ['operator/src/main.ts', `--server-bind-address=127.0.0.1:${port}`], {
      cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: scratch, KUBECONFIG: testCluster.info().kubeconfig },
    });
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it.each([
    { name: 'a missing file', file: () => join(scratch, 'nope'), expect: 'cannot load the kubeconfig (KUBECONFIG=' },
    { name: 'an empty file', file: () => { const f = join(scratch, 'empty'); writeFileSync(f, ''); return f; }, expect: 'cannot load the kubeconfig' },
    { name: 'a file without a cluster', file: () => { const f = join(scratch, 'nocluster'); writeFileSync(f, 'apiVersion: v1\nkind: Config\n'); return f; },
      expect: 'has no usable current context' },
  ])('a bad kubeconfig ($name) names KUBECONFIG', async (c) => {
    const line = theLine(await operator([], { KUBECONFIG: c.file() }));
    expect(line.setting).toBe('KUBECONFIG');
    expect(line.msg).toContain(c.expect);
  });

  it('no kubeconfig at all (not the library\'s silent http://localhost:8080) names KUBECONFIG', async () => {
    const line = theLine(await operator([], {}));
    expect(line.setting).toBe('KUBECONFIG');
    expect(line.msg).toContain('no kubeconfig: KUBECONFIG is unset');
  });

  it('an API server that does not answer names KUBECONFIG and the start-up timeout, after that timeout', async () => {
    const port = await freePort();
    const file = kubeconfigFile('dead', `https://127.0.0.1:${port}`, '{token: abc}');
    const started = Date.now();
    const line = theLine(await operator(['--startup-timeout-seconds=2'], { KUBECONFIG: file }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(line.setting).toBe('KUBECONFIG');
    expect(line.msg).toContain(`cannot reach the API server https://127.0.0.1:${port}`);
    expect(line.msg).toContain('ECONNREFUSED');
    expect(line.msg).toContain('--startup-timeout-seconds');
  });

  it('credentials the API server refuses name KUBECONFIG at once', async () => {
    const file = kubeconfigFile('badtoken', testCluster.info().apiServerUrl, '{token: not-a-valid-token}');
    const started = Date.now();
    const line = theLine(await operator(['--startup-timeout-seconds=60'], { KUBECONFIG: file }));
    expect(Date.now() - started, 'refused credentials do not wait for the timeout').toBeLessThan(30_000);
    expect(line.setting).toBe('KUBECONFIG');
    expect(line.msg).toContain('refused the credentials');
    expect(line.msg).toContain('401');
  });

  it('a bad flag value still names the flag (settings errors, unchanged)', async () => {
    const exit = await operator(['--startup-timeout-seconds=0'], {});
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain('--startup-timeout-seconds (SKILLPOD_STARTUP_TIMEOUT_SECONDS)');
    expect(exit.stderr).not.toMatch(/\n\s+at /);
  });
});
