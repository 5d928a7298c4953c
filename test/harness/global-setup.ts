import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ControlPlane } from './control-plane.ts';
import { startWatchdog } from './processes.ts';
import { testbinDir } from './testbin.ts';
import type { ClusterInfo } from './context.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    skillpodCluster: ClusterInfo;
  }
}

/**
 * One real control plane per test run. Test files run in workers, so the few that must stop or restart
 * kube-apiserver ask this process over a loopback HTTP endpoint: the processes stay children of one owner, and the
 * watchdog kills them if the runner itself is killed.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = testbinDir();
  const dir = await mkdtemp(join(tmpdir(), 'skillpod-cp-'));
  const started = Date.now();
  const plane = await ControlPlane.start({ dir, binDir });
  const watchdog = startWatchdog(process.pid, plane.pidFile);
  const control = await startControlServer(plane);
  const address = control.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.apiServerUrl} (${dir})`);
  project.provide('skillpodCluster', {
    kubeconfig: plane.kubeconfigPath,
    apiServerUrl: plane.apiServerUrl,
    controlUrl: `http://127.0.0.1:${port}`,
    dir,
    binDir,
    caCert: plane.certs.caCert,
    caKey: plane.certs.caKey,
  });
  return async () => {
    control.close();
    await plane.stop();
    if (watchdog) process.kill(watchdog, 'SIGKILL');
    if (!process.env.SKILLPOD_KEEP_TEST_CLUSTER_DIR) await rm(dir, { recursive: true, force: true });
  };
}

function startControlServer(plane: ControlPlane): Promise<Server> {
  const actions: Record<string, () => Promise<void>> = {
    '/apiserver/stop': () => plane.stopApiServer(),
    '/apiserver/start': () => plane.startApiServer(),
    '/apiserver/restart': () => plane.restartApiServer(),
  };
  const server = createServer((req, res) => {
    const action = req.method === 'POST' ? actions[req.url ?? ''] : undefined;
    if (!action) {
      res.writeHead(404).end();
      return;
    }
    action().then(
      () => res.writeHead(204).end(),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
