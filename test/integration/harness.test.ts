// The harness must never leave a control plane behind, even when the process that started it is killed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { eventually } from '../harness/eventually.ts';
import { isAlive } from '../harness/processes.ts';
import { testCluster } from '../harness/context.ts';

it('kills etcd, kube-apiserver and kube-controller-manager when the runner that started them is SIGKILLed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skillpod-crash-'));
  const script = `
    import { ControlPlane } from ${JSON.stringify(new URL('../harness/control-plane.ts', import.meta.url).pathname)};
    import { startWatchdog } from ${JSON.stringify(new URL('../harness/processes.ts', import.meta.url).pathname)};
    const plane = await ControlPlane.start({ dir: ${JSON.stringify(dir)}, binDir: ${JSON.stringify(testCluster.info().binDir)} });
    startWatchdog(process.pid, plane.pidFile);
    console.log('ready');
    setInterval(() => {}, 1000);`;
  const runner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      runner.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
      runner.once('exit', (code) => reject(new Error(`runner exited early with ${code}`)));
    });
    const pids = (await readFile(join(dir, 'pids'), 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);

    runner.kill('SIGKILL');
    await eventually(() => expect(pids.filter(isAlive)).toEqual([]), 30_000);
  } finally {
    runner.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
