// `make cluster-up` / `make cluster-down`: a control plane that outlives this command, for people and `make run`.
// `cli.ts up --node` adds one real node (test/harness/node.ts), to a new control plane or to the running one.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ControlPlane, type ControlPlaneState } from './control-plane.ts';
import { teardownNode, TestNode, type NodeState } from './node.ts';
import { isAlive, stopProcessGroup } from './processes.ts';
import { builtPath, testbinDir } from './testbin.ts';

const root = resolve(import.meta.dirname, '../..');
const stateDir = join(root, '.skillpod');
const clusterDir = join(stateDir, 'cluster');
const stateFile = join(clusterDir, 'state.json');
const kubeconfig = join(stateDir, 'kubeconfig');
/** Operator settings for the node (SKILLPOD_* variables, read by `make run`). */
const operatorEnv = join(stateDir, 'operator.env');
const exampleFile = join(stateDir, 'node-example.yaml');

type State = ControlPlaneState & { node?: NodeState };

/** The directory of the helm `make testbin` built (test/testbin/build-helm.sh), or undefined when it is not built. */
function helmBinDir(): string | undefined {
  try {
    return builtPath(join(root, 'test/testbin/build-helm.sh'), 'helm is not built') || undefined;
  } catch {
    return undefined;
  }
}

async function readState(): Promise<State | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(await readFile(stateFile, 'utf8')) as State;
}

async function up(withNode: boolean): Promise<void> {
  let state = await readState();
  if (state && state.pids.every(isAlive)) {
    console.log(`control plane already running at ${state.apiServerUrl}`);
  } else {
    if (state) await down();
    await rm(clusterDir, { recursive: true, force: true });
    await mkdir(clusterDir, { recursive: true });
    const started = Date.now();
    const plane = await ControlPlane.start({ dir: clusterDir, binDir: testbinDir(), detached: true });
    state = plane.state();
    await writeFile(stateFile, JSON.stringify(state, null, 2));
    await copyFile(plane.kubeconfigPath, kubeconfig);
    // A kubectl of the server's own version: the machine's may be several minors older.
    await rm(join(stateDir, 'bin'), { recursive: true, force: true });
    await mkdir(join(stateDir, 'bin'));
    await symlink(join(testbinDir(), 'kubectl'), join(stateDir, 'bin', 'kubectl'));
    // And the helm that `make testbin` built from source, for the chart (docs/quickstart.md).
    const helmDir = helmBinDir();
    if (helmDir) await symlink(join(helmDir, 'helm'), join(stateDir, 'bin', 'helm'));
    console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.apiServerUrl}; logs in ${join(clusterDir, 'logs')}`);
  }
  if (withNode) await upNode(state);
  console.log(`export KUBECONFIG=${kubeconfig} PATH=${join(stateDir, 'bin')}:$PATH`);
}

async function upNode(state: State): Promise<void> {
  if (state.node && existsSync(state.node.dir)) {
    console.log(`node ${state.node.name} already running (${state.node.dir})`);
    return;
  }
  const started = Date.now();
  const apiPort = Number(new URL(state.apiServerUrl).port);
  const p = (name: string) => join(state.dir, name);
  const node = await TestNode.start({
    dir: join(state.dir, 'node'), binDir: testbinDir(), detached: true,
    plane: { apiPort, caCert: p('ca.crt'), caKey: p('ca.key'), adminCert: p('admin.crt'), adminKey: p('admin.key') },
  });
  await writeFile(stateFile, JSON.stringify({ ...state, node: node.state() }, null, 2));
  // What `make run` needs so the operator's pods run on this node: its images. The host network and the loopback API
  // server are the node's own doing (node-host-network.ts), not the operator's (docs/testing.md, "The node").
  await writeFile(operatorEnv, [
    `SKILLPOD_EXECUTOR_IMAGE=${node.images.executor}`,
    `SKILLPOD_DEFAULT_AGENT_IMAGE=${node.images.agent}`,
  ].join('\n') + '\n');
  await writeFile(exampleFile, exampleRun(node.images));
  console.log(`node ${node.name} Ready in ${((Date.now() - started) / 1000).toFixed(1)}s; logs in ${join(node.dir, 'logs')}`);
  console.log(`images: ${Object.entries(node.images).map(([role, image]) => `${role}=${image}`).join(' ')}`);
  console.log(`operator settings for this node in ${operatorEnv}; an example run in ${exampleFile}`);
}

/** A SkillPack with the node's kubectl image and an AgentRun whose agent (a shell script) lists pods with it. */
function exampleRun(images: NodeState['images']): string {
  return `# For the test node (make cluster-up NODE=1, make install, make run): kubectl apply -f this file, then
#   kubectl get agentrun hello-node -o jsonpath='{.status.result}'
apiVersion: skillpod.io/v1alpha1
kind: SkillPack
metadata:
  name: node-kubectl
spec:
  description: Read-only kubectl, from the test node's local kubectl image.
  image: ${images.kubectl}
  tools:
    - name: get
      command: [kubectl, get]
      parameters:
        type: object
        properties:
          resource: {type: string, enum: [pods]}
          output: {type: string, enum: [name, wide]}
        required: [resource]
      args: [["{resource}"], ["--output", "{output}"]]
  env:
    - {name: KUBERC, value: "off"}
  rbac:
    rules:
      - apiGroups: [""]
        resources: [pods]
        verbs: [get, list]
---
apiVersion: skillpod.io/v1alpha1
kind: AgentRun
metadata:
  name: hello-node
  namespace: default
spec:
  # The test agent runs its task as a shell script.
  task: >-
    skillpod-exec call node-kubectl get --input '{"resource":"pods","output":"name"}' > /dev/termination-log
  skills:
    - name: node-kubectl
`;
}

async function down(): Promise<void> {
  const state = await readState();
  if (!state) {
    console.log('no control plane is running');
    return;
  }
  // The node first (its kubelet talks to the API server), then controllers, etcd last.
  if (state.node) {
    await teardownNode(state.node.dir);
    await rm(operatorEnv, { force: true });
    await rm(exampleFile, { force: true });
    console.log('node stopped');
  }
  for (const pid of [...state.pids].reverse()) await stopProcessGroup(pid);
  await rm(clusterDir, { recursive: true, force: true });
  await rm(kubeconfig, { force: true });
  console.log('control plane stopped');
}

const [command, ...flags] = process.argv.slice(2);
if (command === 'up' && flags.every((f) => f === '--node')) await up(flags.includes('--node'));
else if (command === 'down' && flags.length === 0) await down();
else {
  console.error('usage: cli.ts up [--node] | down');
  process.exit(2);
}
