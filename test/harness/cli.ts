// `make cluster-up` / `make cluster-down`: a control plane that outlives this command, for people and `make run`.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ControlPlane, type ControlPlaneState } from './control-plane.ts';
import { isAlive, stopProcessGroup } from './processes.ts';
import { testbinDir } from './testbin.ts';

const root = resolve(import.meta.dirname, '../..');
const stateDir = join(root, '.skillpod');
const clusterDir = join(stateDir, 'cluster');
const stateFile = join(clusterDir, 'state.json');
const kubeconfig = join(stateDir, 'kubeconfig');

async function readState(): Promise<ControlPlaneState | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(await readFile(stateFile, 'utf8')) as ControlPlaneState;
}

async function up(): Promise<void> {
  const state = await readState();
  if (state && state.pids.every(isAlive)) {
    console.log(`control plane already running at ${state.apiServerUrl}`);
  } else {
    if (state) await down();
    await rm(clusterDir, { recursive: true, force: true });
    await mkdir(clusterDir, { recursive: true });
    const started = Date.now();
    const plane = await ControlPlane.start({ dir: clusterDir, binDir: testbinDir(), detached: true });
    await writeFile(stateFile, JSON.stringify(plane.state(), null, 2));
    await copyFile(plane.kubeconfigPath, kubeconfig);
    // A kubectl of the server's own version: the machine's may be several minors older.
    await rm(join(stateDir, 'bin'), { recursive: true, force: true });
    await mkdir(join(stateDir, 'bin'));
    await symlink(join(testbinDir(), 'kubectl'), join(stateDir, 'bin', 'kubectl'));
    console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.apiServerUrl}; logs in ${join(clusterDir, 'logs')}`);
  }
  console.log(`export KUBECONFIG=${kubeconfig} PATH=${join(stateDir, 'bin')}:$PATH`);
}

async function down(): Promise<void> {
  const state = await readState();
  if (!state) {
    console.log('no control plane is running');
    return;
  }
  // Controllers first, etcd last (the order they were started, reversed).
  for (const pid of [...state.pids].reverse()) await stopProcessGroup(pid);
  await rm(clusterDir, { recursive: true, force: true });
  await rm(kubeconfig, { force: true });
  console.log('control plane stopped');
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: cli.ts up|down');
  process.exit(2);
}
