// The test node as seen from an end-to-end test file (test/harness/node-global-setup.ts starts it).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import type { NodeImages } from './node.ts';

const run = promisify(execFile);

export interface NodeInfo {
  name: string;
  dir: string;
  images: NodeImages;
  /** Where pods in the host network reach the API server: 127.0.0.1:<port>. */
  apiServerAddress: string;
  containerdSocket: string;
  /** test/node/build.sh's output: images.json and an OCI tarball per image. */
  buildDir: string;
}

export const testNode = {
  info(): NodeInfo {
    return inject('skillpodNode');
  },

  /** Imports an image that the node does not import at start (test/node/build.sh built it). */
  async importImage(role: keyof NodeImages): Promise<void> {
    await run('ctr', ['-a', this.info().containerdSocket, '-n', 'k8s.io', 'images', 'import', join(this.info().buildDir, `${role}.tar`)],
      { timeout: 300_000 });
  },

  /** The containers containerd holds for a pod (by the kubelet's label), sandbox included. */
  async containersOfPod(podUid: string): Promise<string[]> {
    const { stdout } = await run('ctr', ['-a', this.info().containerdSocket, '-n', 'k8s.io', 'containers', 'ls', '-q',
      `labels."io.kubernetes.pod.uid"==${podUid}`]);
    return stdout.split('\n').filter(Boolean);
  },

  /** Mounts the kubelet holds for a pod (its volumes: tmpfs of projected and downward API volumes). */
  async mountsOfPod(podUid: string): Promise<string[]> {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    return mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.includes(`/pods/${podUid}/`));
  },
};
