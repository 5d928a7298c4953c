// A real node for the test control plane: containerd and runc from Debian, the kubelet and kube-scheduler from the
// testbin's Kubernetes wrapper module. Everything is confined to one directory and one cgroup root, reaches the API
// server over loopback only, and is undone by test/node/host.sh (which the watchdog also runs if the runner dies).
//
// What it takes from the machine, and gives back at stop: three sysctls the kubelet rewrites, a blackhole route for
// the service range (so that nothing dials the `kubernetes` Service's 10.0.0.1), a cgroup root in every
// hierarchy, and a few hard-coded paths (/var/lib/kubelet/device-plugins, /var/log/containers).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { adaptedForHostNetwork, HOST_NETWORK_POLICY, hostNetworkPolicy, hostNetworkProbePod } from './node-host-network.ts';
import { freePort } from './ports.ts';
import { isAlive, sleep, startProcess, stopProcessGroup, type ManagedProcess } from './processes.ts';
import { builtPath } from './testbin.ts';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
export const HOST_SCRIPT = join(repoRoot, 'test/node/host.sh');
const NODE_BUILD_SCRIPT = join(repoRoot, 'test/node/build.sh');

/** The node's name. It must resolve to 127.0.0.1: kube-apiserver reaches the kubelet by it (logs, exec). */
export const NODE_NAME = 'localhost';
const READY_TIMEOUT_MS = 120_000;

/** The images `test/node/build.sh` makes, by role. */
export interface NodeImages {
  pause: string;
  shell: string;
  agent: string;
  executor: string;
  kubectl: string;
  operator: string;
}

/** What the node needs to know of the control plane it joins. */
export interface NodeControlPlane {
  apiPort: number;
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
}

export interface NodeOptions {
  /** Working directory of the node (containerd's root and state, the kubelet's root, logs, certificates). */
  dir: string;
  /** The testbin directory (kubelet). */
  binDir: string;
  plane: NodeControlPlane;
  /** Let processes outlive this Node process (for `make cluster-up NODE=1`). */
  detached?: boolean;
}

/** What `make cluster-down` needs to stop a node that another process started. */
export interface NodeState {
  dir: string;
  name: string;
  images: NodeImages;
  buildDir: string;
}

/**
 * The directory with the node's images and kube-scheduler that `make node` built. Tests never build: if they are
 * missing this throws with the command to run.
 */
export function nodeBuildDir(): string {
  if (process.env.SKILLPOD_NODE_BUILD) return process.env.SKILLPOD_NODE_BUILD;
  return builtPath(NODE_BUILD_SCRIPT, 'the node is not built: run make node');
}

/** Why this machine cannot run the node, or undefined when it can. Loud on purpose: CI must fail, not skip. */
export function nodePreflight(): string | undefined {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('the node needs root (containers, mounts, cgroups)');
  const onPath = (cmd: string) => process.env.PATH?.split(':').some((d) => existsSync(join(d, cmd))) ?? false;
  for (const cmd of ['containerd', 'containerd-shim-runc-v2', 'ctr']) {
    if (!onPath(cmd)) problems.push(`${cmd} is missing: apt-get install containerd`);
  }
  if (!existsSync('/usr/sbin/runc')) problems.push('/usr/sbin/runc is missing: apt-get install runc');
  if (!existsSync('/usr/lib/cni/loopback')) problems.push('/usr/lib/cni/loopback is missing: apt-get install containernetworking-plugins');
  for (const cmd of ['ip', 'flock', 'openssl']) if (!onPath(cmd)) problems.push(`${cmd} is missing`);
  if (!existsSync('/sys/fs/cgroup/memory/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    problems.push('no cgroup hierarchy under /sys/fs/cgroup');
  }
  const resolved = (() => {
    try {
      return execFileSync('getent', ['ahostsv4', NODE_NAME], { encoding: 'utf8' }).split(/\s+/)[0];
    } catch {
      return undefined;
    }
  })();
  if (resolved !== '127.0.0.1') problems.push(`${NODE_NAME} must resolve to 127.0.0.1 (it resolves to ${resolved ?? 'nothing'})`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

export class TestNode {
  readonly dir: string;
  readonly binDir: string;
  readonly plane: NodeControlPlane;
  readonly detached: boolean;
  readonly cgroup: string;
  images!: NodeImages;
  buildDir = '';
  private schedulerBinary = '';
  private readonly processes = new Map<string, ManagedProcess>();

  private constructor(options: NodeOptions) {
    this.dir = options.dir;
    this.binDir = options.binDir;
    this.plane = options.plane;
    this.detached = options.detached ?? false;
    this.cgroup = `skillpod-node-${randomBytes(4).toString('hex')}`;
  }

  get name(): string {
    return NODE_NAME;
  }

  get containerdSocket(): string {
    return join(this.dir, 'containerd.sock');
  }

  static async start(options: NodeOptions): Promise<TestNode> {
    const problem = nodePreflight();
    if (problem) throw new Error(`the test node cannot start here: ${problem}`);
    const node = new TestNode(options);
    try {
      await node.boot();
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
    return node;
  }

  state(): NodeState {
    return { dir: this.dir, name: this.name, images: this.images, buildDir: this.buildDir };
  }

  private async boot(): Promise<void> {
    const build = nodeBuildDir();
    this.buildDir = build;
    const built = JSON.parse(await readFile(join(build, 'images.json'), 'utf8')) as { scheduler: string; images: NodeImages };
    this.images = built.images;
    this.schedulerBinary = built.scheduler;
    for (const sub of ['logs', 'pids', 'cni', 'manifests', 'kubelet', 'pki', 'pod-logs']) {
      await mkdir(join(this.dir, sub), { recursive: true });
    }
    await writeFile(join(this.dir, 'cgroup'), `${this.cgroup}\n`);
    await run('bash', [HOST_SCRIPT, 'acquire', this.dir, this.cgroup]);
    await this.startContainerd();
    await this.importImages(build);
    await this.makeCertificates();
    await this.startKubelet();
    await this.startScheduler();
    await this.waitForReady();
    await this.adaptRunPods();
  }

  private async startContainerd(): Promise<void> {
    const d = this.dir;
    // A loopback-only network: the node reports NetworkReady, and hostNetwork pods (the only ones that run here)
    // never call CNI. A pod with its own network namespace fails at sandbox creation ("failed to find network
    // info"): containerd 1.6 wants an eth0 in the CNI result.
    await writeFile(join(d, 'cni', '10-loopback.conflist'),
      JSON.stringify({ cniVersion: '0.4.0', name: 'skillpod-loopback', plugins: [{ type: 'loopback' }] }));
    await writeFile(join(d, 'containerd.toml'), `version = 2
root = "${d}/containerd/root"
state = "${d}/containerd/state"
# CAP_SYS_RESOURCE is missing here: never lower an OOM score (the shims' or the containers').
oom_score = 0
[grpc]
  address = "${this.containerdSocket}"
[ttrpc]
  address = "${this.containerdSocket}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${this.images.pause}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${d}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "${d}/runc"
        SystemdCgroup = false
`);
    const proc = this.launch('containerd', 'containerd', ['--config', join(d, 'containerd.toml'), '--log-level', 'warn']);
    await this.waitFor('containerd', proc, async () => {
      await run('ctr', ['-a', this.containerdSocket, 'version'], { timeout: 5000 });
      return true;
    }, 30_000);
  }

  /** Every image but the operator's (200 MB: 15 s to import; test/harness/node-context.ts imports it on demand). */
  private async importImages(build: string): Promise<void> {
    for (const role of Object.keys(this.images) as (keyof NodeImages)[]) {
      if (role === 'operator') continue;
      await run('ctr', ['-a', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', join(build, `${role}.tar`)], { timeout: 120_000 });
    }
  }

  private async makeCertificates(): Promise<void> {
    const pki = join(this.dir, 'pki');
    const { caCert, caKey } = this.plane;
    await writeFile(join(pki, 'client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
    await writeFile(join(pki, 'serving.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
      `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${NODE_NAME},IP:127.0.0.1\n`);
    const issue = async (name: string, subject: string, ext: string) => {
      await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject,
        '-keyout', `${name}.key`, '-out', `${name}.csr`], { cwd: pki });
      await run('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial',
        '-CAserial', join(pki, 'ca.srl'), '-days', '2', '-extfile', ext, '-out', `${name}.crt`], { cwd: pki });
    };
    // The Node authorizer knows a kubelet by this subject.
    await issue('kubelet-client', `/O=system:nodes/CN=system:node:${NODE_NAME}`, 'client.ext');
    await issue('kubelet-serving', `/CN=${NODE_NAME}`, 'serving.ext');
    await issue('scheduler', '/CN=system:kube-scheduler', 'client.ext');
    await this.writeKubeconfig('kubelet.kubeconfig', 'kubelet-client');
    await this.writeKubeconfig('scheduler.kubeconfig', 'scheduler');
  }

  private async writeKubeconfig(file: string, cert: string): Promise<void> {
    const pki = join(this.dir, 'pki');
    await writeFile(join(this.dir, file), `apiVersion: v1
kind: Config
clusters:
- name: skillpod-test
  cluster:
    server: https://127.0.0.1:${this.plane.apiPort}
    certificate-authority: ${this.plane.caCert}
users:
- name: ${cert}
  user:
    client-certificate: ${join(pki, `${cert}.crt`)}
    client-key: ${join(pki, `${cert}.key`)}
contexts:
- name: default
  context: {cluster: skillpod-test, user: ${cert}}
current-context: default
`, { mode: 0o600 });
  }

  private async startKubelet(): Promise<void> {
    const d = this.dir;
    const [port, healthzPort] = [await freePort(), await freePort()];
    // Every setting here was needed on the cgroup v1 machines this runs on; see docs/testing.md ("The node").
    await writeFile(join(d, 'kubelet.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /${this.cgroup}
failSwapOn: false
address: 127.0.0.1
port: ${port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${healthzPort}
tlsCertFile: ${join(d, 'pki', 'kubelet-serving.crt')}
tlsPrivateKeyFile: ${join(d, 'pki', 'kubelet-serving.key')}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${this.plane.caCert}}
authorization:
  mode: Webhook
maxOpenFiles: 10000
oomScoreAdj: 0
makeIPTablesUtilChains: false
containerRuntimeEndpoint: unix://${this.containerdSocket}
imageServiceEndpoint: unix://${this.containerdSocket}
podLogsDir: ${join(d, 'pod-logs')}
staticPodPath: ${join(d, 'manifests')}
syncFrequency: 10s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 5s
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "0%"
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
  imagefs.inodesFree: "0%"
localStorageCapacityIsolation: false
shutdownGracePeriod: 0s
`);
    const proc = this.launch('kubelet', join(this.binDir, 'kubelet'), [
      `--config=${join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${join(d, 'kubelet.kubeconfig')}`,
      `--root-dir=${join(d, 'kubelet')}`,
      `--cert-dir=${join(d, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      '--v=1',
    ]);
    await this.waitFor('kubelet', proc, async () => (await fetch(`http://127.0.0.1:${healthzPort}/healthz`)).ok, READY_TIMEOUT_MS);
  }

  private async startScheduler(): Promise<void> {
    const port = await freePort();
    const kubeconfig = join(this.dir, 'scheduler.kubeconfig');
    const proc = this.launch('kube-scheduler', this.schedulerBinary, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, 'scheduler-certs')}`,
      '--v=0',
    ]);
    await this.waitFor('kube-scheduler', proc, async () => (await httpsGet(`https://127.0.0.1:${port}/healthz`, {})).status === 200, READY_TIMEOUT_MS);
  }

  /** The Node object reports Ready (runtime and network ready, PLEG healthy). */
  private async waitForReady(): Promise<void> {
    const kubelet = this.processes.get('kubelet');
    if (!kubelet) throw new Error('kubelet is not running');
    await this.waitFor('node Ready', kubelet, async () => {
      const res = await httpsGet(`https://127.0.0.1:${this.plane.apiPort}/api/v1/nodes/${NODE_NAME}`, {
        ca: readFileSync(this.plane.caCert), cert: readFileSync(this.plane.adminCert), key: readFileSync(this.plane.adminKey),
      });
      if (res.status !== 200) return false;
      const node = JSON.parse(res.body) as { spec?: { taints?: { key: string }[] }; status?: { conditions?: { type: string; status: string }[] } };
      const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      // The kubelet registers with the not-ready taint; kube-controller-manager's node lifecycle controller lifts it.
      return ready && !(node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready');
    }, READY_TIMEOUT_MS);
  }

  /**
   * Run pods are adapted to this node at admission, by a test-only MutatingAdmissionPolicy (node-host-network.ts):
   * applied server-side (a second node start against the same control plane changes nothing), then awaited, since
   * kube-apiserver loads policies through its informers: a labelled pod is sent as a dry run until the answer is
   * in the host network with the loopback API server in its env.
   */
  private async adaptRunPods(): Promise<void> {
    const api = `https://127.0.0.1:${this.plane.apiPort}`;
    const tls = { ca: readFileSync(this.plane.caCert), cert: readFileSync(this.plane.adminCert), key: readFileSync(this.plane.adminKey) };
    const [policy, binding] = hostNetworkPolicy('127.0.0.1', this.plane.apiPort);
    for (const [plural, object] of [['mutatingadmissionpolicies', policy], ['mutatingadmissionpolicybindings', binding]] as const) {
      const url = `${api}/apis/admissionregistration.k8s.io/v1/${plural}/${HOST_NETWORK_POLICY}?fieldManager=skillpod-test-node&force=true`;
      const res = await httpsGet(url, tls, { method: 'PATCH', body: JSON.stringify(object), contentType: 'application/apply-patch+yaml' });
      if (res.status !== 200 && res.status !== 201) throw new Error(`applying ${plural}/${HOST_NETWORK_POLICY} failed: ${res.status} ${res.body}`);
    }
    const deadline = Date.now() + 60_000;
    let last = '';
    while (Date.now() < deadline) {
      const res = await httpsGet(`${api}/api/v1/namespaces/default/pods?dryRun=All`, tls,
        { method: 'POST', body: JSON.stringify(hostNetworkProbePod()), contentType: 'application/json' });
      last = `${res.status} ${res.body.slice(0, 500)}`;
      if (res.status === 201 && adaptedForHostNetwork(JSON.parse(res.body), '127.0.0.1', this.plane.apiPort)) return;
      await sleep(250);
    }
    throw new Error(`the MutatingAdmissionPolicy ${HOST_NETWORK_POLICY} did not act on a dry-run pod within 60s; last answer: ${last}`);
  }

  /**
   * Every process of the node runs with a proxy that refuses (port 9 on loopback, nothing listens): an image that
   * is not imported makes containerd try a registry, and the proxy turns that into an immediate ErrImagePull
   * instead of a DNS query and a connection to the outside. Loopback addresses (the API server) bypass proxies.
   */
  private launch(name: string, binary: string, args: string[]): ManagedProcess {
    const proxy = 'http://127.0.0.1:9';
    const env = [`HTTP_PROXY=${proxy}`, `HTTPS_PROXY=${proxy}`, `http_proxy=${proxy}`, `https_proxy=${proxy}`, 'NO_PROXY=', 'no_proxy='];
    const proc = startProcess(name, 'env', [...env, binary, ...args], join(this.dir, 'logs', `${name}.log`), this.detached);
    this.processes.set(name, proc);
    void writeFile(join(this.dir, 'pids', name), `${proc.pid}\n`);
    return proc;
  }

  private async waitFor(what: string, proc: ManagedProcess, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    let exited = false;
    void proc.exited.then(() => { exited = true; });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${what}: ${proc.name} exited during start-up\n${await this.logTail(proc.name)}`);
      if (await probe().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`${what} not ready after ${timeoutMs / 1000}s\n${await this.logTail(proc.name)}`);
  }

  private async logTail(name: string): Promise<string> {
    const file = join(this.dir, 'logs', `${name}.log`);
    const text = await readFile(file, 'utf8').catch(() => '');
    return `${file}:\n${text.split('\n').slice(-15).join('\n')}`;
  }

  /** Stops every process and undoes every change of this node (test/node/host.sh teardown). */
  async stop(): Promise<void> {
    for (const name of ['kube-scheduler', 'kubelet']) {
      const proc = this.processes.get(name);
      if (proc) await stopProcessGroup(proc.pid);
    }
    await teardownNode(this.dir);
    this.processes.clear();
  }

  /** The pid of a process of the node, for watchdogs and state files. */
  pids(): number[] {
    return [...this.processes.values()].map((p) => p.pid).filter(isAlive);
  }
}

/** Runs test/node/host.sh teardown: processes, tasks, shims, mounts, cgroups, sysctls, route, stray paths. */
export async function teardownNode(dir: string): Promise<void> {
  const { stderr } = await run('bash', [HOST_SCRIPT, 'teardown', dir], { timeout: 120_000 }).catch((err: unknown) => {
    throw new Error(`node teardown failed: ${String((err as { stderr?: string }).stderr ?? err)}`, { cause: err });
  });
  if (stderr.trim()) console.error(stderr.trim());
}

/**
 * Starts a small shell that, once `ownerPid` dies, tears the node down (test/node/host.sh): a runner killed with
 * SIGKILL still leaves no container, shim, mount or cgroup behind.
 */
export function startNodeWatchdog(ownerPid: number, dir: string): number {
  const script = `while kill -0 ${ownerPid} 2>/dev/null; do sleep 1; done; exec bash "$1" teardown "$2"`;
  const child = spawn('sh', ['-c', script, 'skillpod-node-watchdog', HOST_SCRIPT, dir], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid ?? 0;
}

function httpsGet(url: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer },
  send: { method: string; body: string; contentType: string } | undefined = undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const headers = send ? { 'content-type': send.contentType, accept: 'application/json' } : {};
    const req = httpsRequest(url, { ...tls, method: send?.method ?? 'GET', headers, rejectUnauthorized: tls.ca !== undefined, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(send?.body);
  });
}
