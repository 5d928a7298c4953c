import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { eventually } from './eventually.ts';

const run = promisify(execFile);

export interface ClusterInfo {
  kubeconfig: string;
  apiServerUrl: string;
  controlUrl: string;
  dir: string;
  binDir: string;
  caCert: string;
  caKey: string;
}

function info(): ClusterInfo {
  return inject('skillpodCluster');
}

async function control(action: string): Promise<void> {
  const res = await fetch(`${info().controlUrl}${action}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`control plane ${action} failed: ${res.status} ${await res.text()}`);
}

function configFor(user: { name: string; token?: string; certData?: string; keyData?: string }): KubeConfig {
  const kc = new KubeConfig();
  const { apiServerUrl } = info();
  kc.loadFromOptions({
    clusters: [{ name: 'skillpod-test', server: apiServerUrl, caFile: info().caCert }],
    users: [user],
    contexts: [{ name: 'test', cluster: 'skillpod-test', user: user.name }],
    currentContext: 'test',
  });
  return kc;
}

/** The running test control plane, as seen from a test file. */
export const testCluster = {
  info,

  /** Admin (`system:masters`) access. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(info().kubeconfig);
    return kc;
  },

  /** Access as a user authenticated by a client certificate issued for this test (CN=user, O=groups). */
  async kubeConfigForUser(user: string, groups: string[] = []): Promise<KubeConfig> {
    const dir = await mkdtemp(join(info().dir, 'user-'));
    const subject = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join('');
    await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject,
      '-keyout', 'user.key', '-out', 'user.csr'], { cwd: dir });
    await run('openssl', ['x509', '-req', '-in', 'user.csr', '-CA', info().caCert, '-CAkey', info().caKey,
      '-CAcreateserial', '-days', '1', '-out', 'user.crt'], { cwd: dir });
    const [cert, key] = await Promise.all([readFile(join(dir, 'user.crt')), readFile(join(dir, 'user.key'))]);
    return configFor({ name: user, certData: cert.toString('base64'), keyData: key.toString('base64') });
  },

  /** Access with a bearer token, e.g. one from the TokenRequest API. */
  kubeConfigForToken(token: string): KubeConfig {
    return configFor({ name: 'token-user', token });
  },

  /**
   * A new namespace (`labels` can ask Pod Security admission to enforce a level), returned once
   * kube-controller-manager has made its `default` ServiceAccount and its `kube-root-ca.crt`, as a cluster's namespace
   * is ready for pods. Usually within milliseconds; after kube-apiserver was restarted the controllers' watches may
   * take a few seconds to come back, and a test that raced them would fail for no fault of its own.
   */
  async createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const ns = await core.createNamespace({ body: { metadata: { generateName: `${prefix}-`, labels } } });
    const name = ns.metadata!.name!;
    await eventually(async () => {
      await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
      await core.readNamespacedConfigMap({ namespace: name, name: 'kube-root-ca.crt' });
    }, 60_000, 100);
    return name;
  },

  async deleteNamespace(name: string): Promise<void> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name }).catch(() => undefined);
  },

  stopApiServer: () => control('/apiserver/stop'),
  startApiServer: () => control('/apiserver/start'),
  restartApiServer: () => control('/apiserver/restart'),
};
