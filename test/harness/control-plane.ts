import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCertificates, type CertPaths } from './certs.ts';
import { freePort } from './ports.ts';
import { sleep, startProcess, stopProcessGroup, type ManagedProcess } from './processes.ts';

export interface ControlPlaneOptions {
  /** Working directory for certificates, data and logs. */
  dir: string;
  /** Directory holding etcd, kube-apiserver and kube-controller-manager (from `make testbin`). */
  binDir: string;
  /** Let processes outlive this Node process (for `make cluster-up`). */
  detached?: boolean;
}

/** What `make cluster-down` needs to stop a control plane that another process started. */
export interface ControlPlaneState {
  dir: string;
  pids: number[];
  apiServerUrl: string;
  kubeconfig: string;
}

const READY_TIMEOUT_MS = 180_000;

/**
 * etcd, kube-apiserver and kube-controller-manager on free loopback ports with certificates made for this start,
 * RBAC authorization and the PodSecurity, ServiceAccount, ValidatingAdmissionPolicy and MutatingAdmissionPolicy admission
 * plugins.
 */
export class ControlPlane {
  readonly dir: string;
  readonly binDir: string;
  readonly kubeconfigPath: string;
  readonly detached: boolean;
  certs!: CertPaths;
  etcdPort = 0;
  apiPort = 0;
  private readonly processes = new Map<string, ManagedProcess>();

  private constructor(options: ControlPlaneOptions) {
    this.dir = options.dir;
    this.binDir = options.binDir;
    this.detached = options.detached ?? false;
    this.kubeconfigPath = join(options.dir, 'kubeconfig');
  }

  get apiServerUrl(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  get pidFile(): string {
    return join(this.dir, 'pids');
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    try {
      await plane.boot();
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  private async boot(): Promise<void> {
    await mkdir(join(this.dir, 'logs'), { recursive: true });
    this.certs = await makeCertificates(this.dir);
    await this.startEtcd();
    this.apiPort = await freePort();
    await this.writeKubeconfig();
    await this.startApiServer();
    await this.startControllerManager();
    await this.waitForControllers();
  }

  private async startEtcd(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.etcdPort = await freePort();
      const peerPort = await freePort();
      const etcd = this.launch('etcd', 'etcd', [
        `--name=skillpod-test`,
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${this.etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=skillpod-test=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=8589934592',
        '--log-level=warn',
      ]);
      try {
        await this.waitFor('etcd', etcd, () => httpGetStatus(`http://127.0.0.1:${this.etcdPort}/health`), 30_000);
        return;
      } catch (err) {
        if (attempt >= 2) throw err; // a port race shows up as an early exit; try new ports
        await stopProcessGroup(etcd.pid, 1000);
      }
    }
  }

  async startApiServer(): Promise<void> {
    const c = this.certs;
    const apiServer = this.launch('kube-apiserver', 'kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
      `--bind-address=127.0.0.1`,
      `--advertise-address=127.0.0.1`,
      `--secure-port=${this.apiPort}`,
      `--tls-cert-file=${c.serverCert}`,
      `--tls-private-key-file=${c.serverKey}`,
      `--client-ca-file=${c.caCert}`,
      `--service-cluster-ip-range=10.0.0.0/24`,
      `--service-account-issuer=https://127.0.0.1:${this.apiPort}`,
      `--service-account-key-file=${c.serviceAccountPub}`,
      `--service-account-signing-key-file=${c.serviceAccountKey}`,
      '--authorization-mode=Node,RBAC',
      // MutatingAdmissionPolicy (GA and on by default in 1.36) is named so that the test node's policy
      // (node-host-network.ts) does not hang on a default.
      '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,ValidatingAdmissionPolicy,MutatingAdmissionPolicy,' +
        'LimitRanger,ResourceQuota,DefaultStorageClass,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--allow-privileged=false',
      // A loopback advertise address makes the `kubernetes` Endpoints invalid; nothing here needs them.
      '--endpoint-reconciler-type=none',
      // For a test node (test/harness/node.ts): reach kubelets by their name, which resolves to 127.0.0.1 (their
      // InternalIP is the machine's own address, which nothing here may dial), as the admin.
      '--kubelet-preferred-address-types=Hostname',
      `--kubelet-client-certificate=${c.adminCert}`,
      `--kubelet-client-key=${c.adminKey}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      '--max-requests-inflight=800',
      '--max-mutating-requests-inflight=400',
      '--v=0',
    ]);
    await this.waitFor('kube-apiserver', apiServer, () => this.apiGetStatus('/readyz'), READY_TIMEOUT_MS);
  }

  async stopApiServer(): Promise<void> {
    const apiServer = this.processes.get('kube-apiserver');
    if (!apiServer) return;
    await stopProcessGroup(apiServer.pid);
    this.processes.delete('kube-apiserver');
    await this.writePidFile();
  }

  /**
   * Restarts kube-apiserver, then kube-controller-manager: seen after a restart in the middle of a suite, the
   * controller manager's service-account controller did not make a new namespace's `default` ServiceAccount for
   * over a minute, so later test files would inherit a half-working control plane. What is under test is the
   * operator's recovery, not kube-controller-manager's.
   */
  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
    const kcm = this.processes.get('kube-controller-manager');
    if (kcm) {
      await stopProcessGroup(kcm.pid);
      this.processes.delete('kube-controller-manager');
      await this.startControllerManager();
    }
  }

  private async startControllerManager(): Promise<void> {
    const c = this.certs;
    const port = await freePort();
    const kcm = this.launch('kube-controller-manager', 'kube-controller-manager', [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,' +
        'serviceaccount-token-controller,root-ca-certificate-publisher-controller,' +
        // Fills the built-in admin/edit/view roles from the ClusterRoles labelled to aggregate into them.
        'clusterrole-aggregation-controller,' +
        // Computes ResourceQuota usage, without which quota admission refuses everything in a quota'd namespace.
        'resourcequota-controller,' +
        // For a test node: the node lifecycle controller lifts the not-ready taint a kubelet registers with; the
        // Deployment and ReplicaSet controllers run the operator installed by its chart. Without a node (or a
        // Deployment) they have nothing to do.
        'node-lifecycle-controller,deployment-controller,replicaset-controller',
      `--service-account-private-key-file=${c.serviceAccountKey}`,
      `--root-ca-file=${c.caCert}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, 'kcm-certs')}`,
      '--concurrent-gc-syncs=50',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=0',
    ]);
    await this.waitFor('kube-controller-manager', kcm, () => httpsInsecureStatus(`https://127.0.0.1:${port}/healthz`), READY_TIMEOUT_MS);
  }

  /** The service-account and root-CA controllers work once `default` has its ServiceAccount and CA bundle. */
  private async waitForControllers(): Promise<void> {
    const kcm = this.processes.get('kube-controller-manager');
    if (!kcm) throw new Error('kube-controller-manager is not running');
    await this.waitFor('kube-controller-manager controllers', kcm, async () => {
      const sa = await this.apiGetStatus('/api/v1/namespaces/default/serviceaccounts/default');
      const ca = await this.apiGetStatus('/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
      return sa === 200 && ca === 200 ? 200 : 0;
    }, READY_TIMEOUT_MS);
  }

  private launch(name: string, binary: string, args: string[]): ManagedProcess {
    const proc = startProcess(name, join(this.binDir, binary), args, join(this.dir, 'logs', `${name}.log`), this.detached);
    this.processes.set(name, proc);
    void this.writePidFile();
    return proc;
  }

  private async writePidFile(): Promise<void> {
    await writeFile(this.pidFile, [...this.processes.values()].map((p) => p.pid).join('\n') + '\n');
  }

  private async waitFor(what: string, proc: ManagedProcess, probe: () => Promise<number>, timeoutMs: number): Promise<void> {
    let exited = false;
    void proc.exited.then(() => { exited = true; });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${what} exited during start-up; see ${join(this.dir, 'logs', `${proc.name}.log`)}\n${await this.logTail(proc.name)}`);
      if ((await probe().catch(() => 0)) === 200) return;
      await sleep(250);
    }
    throw new Error(`${what} not ready after ${timeoutMs / 1000}s; see ${join(this.dir, 'logs', `${proc.name}.log`)}\n${await this.logTail(proc.name)}`);
  }

  private async logTail(name: string): Promise<string> {
    const text = await readFile(join(this.dir, 'logs', `${name}.log`), 'utf8').catch(() => '');
    return text.split('\n').slice(-15).join('\n');
  }

  /** GET on the API server as the admin; resolves to the status code. */
  apiGetStatus(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: this.apiPort, path, method: 'GET', timeout: 5000,
        ca: readCached(this.certs.caCert), cert: readCached(this.certs.adminCert), key: readCached(this.certs.adminKey),
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  private async writeKubeconfig(): Promise<void> {
    const c = this.certs;
    const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: skillpod-test
  cluster:
    server: ${this.apiServerUrl}
    certificate-authority: ${c.caCert}
users:
- name: admin
  user:
    client-certificate: ${c.adminCert}
    client-key: ${c.adminKey}
contexts:
- name: skillpod-test
  context:
    cluster: skillpod-test
    user: admin
current-context: skillpod-test
`;
    await writeFile(this.kubeconfigPath, kubeconfig, { mode: 0o600 });
  }

  state(): ControlPlaneState {
    return { dir: this.dir, pids: [...this.processes.values()].map((p) => p.pid), apiServerUrl: this.apiServerUrl, kubeconfig: this.kubeconfigPath };
  }

  /** Stops every process this control plane started, controllers first so they do not log a dying API server. */
  async stop(): Promise<void> {
    for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) {
      const proc = this.processes.get(name);
      if (proc) await stopProcessGroup(proc.pid);
      this.processes.delete(name);
    }
    await this.writePidFile().catch(() => undefined);
  }
}

// Certificates are read on every readiness probe; they never change during one control plane's life.
const fileCache = new Map<string, Buffer>();
function readCached(path: string): Buffer {
  let content = fileCache.get(path);
  if (!content) {
    content = readFileSync(path);
    fileCache.set(path, content);
  }
  return content;
}

function httpGetStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The controller manager serves /healthz with a self-signed certificate it made itself. */
function httpsInsecureStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { timeout: 2000, rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
