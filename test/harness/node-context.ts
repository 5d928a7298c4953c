// The test node as seen from an end-to-end test file (test/harness/node-global-setup.ts starts it).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { testCluster } from './context.ts';
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

/**
 * The label of the e2e suite's namespaces: their run pods are in the host network (the node's admission policy puts
 * them there, node-host-network.ts), so the operator-bounds binding leaves them out (allowHostNetworkNamespaces).
 */
export const HOST_NETWORK_NAMESPACE_LABEL = 'skillpod.io/e2e-host-network';

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

  /**
   * The operator-bounds policy (helm/skillpod/files/admission-operator-bounds.yaml) refuses pods in the host network,
   * which is where every run pod on this node is. After installSkillpod() (which applies the binding as shipped), this
   * leaves the namespaces labelled HOST_NETWORK_NAMESPACE_LABEL out of that one binding, as the chart's testNode
   * value does for `make demo`; the integration suite tests the policy itself.
   */
  async allowHostNetworkNamespaces(): Promise<void> {
    const admission = testCluster.kubeConfig().makeApiClient(AdmissionregistrationV1Api);
    const binding = await admission.readValidatingAdmissionPolicyBinding({ name: 'skillpod-operator-bounds' });
    binding.spec.matchResources = {
      ...binding.spec.matchResources,
      namespaceSelector: { matchExpressions: [{ key: HOST_NETWORK_NAMESPACE_LABEL, operator: 'DoesNotExist' }] },
    };
    await admission.replaceValidatingAdmissionPolicyBinding({ name: 'skillpod-operator-bounds', body: binding });
  },

  /** Mounts the kubelet holds for a pod (its volumes: tmpfs of projected and downward API volumes). */
  async mountsOfPod(podUid: string): Promise<string[]> {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    return mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.includes(`/pods/${podUid}/`));
  },
};
