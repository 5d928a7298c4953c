import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ClusterInfo } from './context.ts';
import { ControlPlane } from './control-plane.ts';
import { nodeBuildDir, nodePreflight, startNodeWatchdog, TestNode } from './node.ts';
import type { NodeInfo } from './node-context.ts';
import { startWatchdog } from './processes.ts';
import { testbinDir } from './testbin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    skillpodCluster: ClusterInfo;
    skillpodNode: NodeInfo;
  }
}

/**
 * The end-to-end suite's global setup: one control plane and one real node (test/harness/node.ts) per run. It
 * fails, never skips, when the node cannot start here: CI must say so loudly.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const problem = nodePreflight();
  if (problem) throw new Error(`the end-to-end suite needs a node, which cannot start here: ${problem}`);
  const binDir = testbinDir();
  nodeBuildDir(); // fails with "run make node" before anything starts
  const dir = await mkdtemp(join(tmpdir(), 'skillpod-cp-'));
  let started = Date.now();
  const plane = await ControlPlane.start({ dir, binDir });
  const watchdog = startWatchdog(process.pid, plane.pidFile);
  console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.apiServerUrl} (${dir})`);
  started = Date.now();
  const nodeDir = join(dir, 'node');
  const nodeWatchdog = startNodeWatchdog(process.pid, nodeDir);
  let node: TestNode;
  try {
    node = await TestNode.start({ dir: nodeDir, binDir, plane: { apiPort: plane.apiPort, ...plane.certs } });
  } catch (err) {
    await plane.stop();
    process.kill(watchdog, 'SIGKILL');
    process.kill(nodeWatchdog, 'SIGKILL');
    throw err;
  }
  console.log(`node ${node.name} Ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${nodeDir})`);
  project.provide('skillpodCluster', {
    kubeconfig: plane.kubeconfigPath, apiServerUrl: plane.apiServerUrl, controlUrl: '', dir, binDir,
    caCert: plane.certs.caCert, caKey: plane.certs.caKey,
  });
  project.provide('skillpodNode', {
    name: node.name, dir: nodeDir, images: node.images, apiServerAddress: `127.0.0.1:${plane.apiPort}`,
    containerdSocket: node.containerdSocket, buildDir: node.buildDir,
  });
  return async () => {
    await node.stop();
    process.kill(nodeWatchdog, 'SIGKILL');
    await plane.stop();
    process.kill(watchdog, 'SIGKILL');
    if (!process.env.SKILLPOD_KEEP_TEST_CLUSTER_DIR) await rm(dir, { recursive: true, force: true });
  };
}
