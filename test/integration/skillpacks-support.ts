// The built-in SkillPacks as the tests load them, and their tools served by the real executor (bin/skillpod-exec) the
// way a skill sidecar serves them: SKILLPOD_TOOLS from the pack, the test process as "the agent" (its own UID), the
// sockets in a scratch directory instead of /ipc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { SkillClient } from '../../clients/typescript/src/index.ts';
import { parseSkillPack, type SkillPack } from '../../operator/src/api/index.ts';
import { toolsJSON } from '../../operator/src/builders/index.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { helmBinary, repoRoot } from './chart-support.ts';

export const BUILT_IN = readdirSync(join(repoRoot, 'skillpacks')).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(repoRoot, 'skillpacks', f));
export const OPTIONAL = readdirSync(join(repoRoot, 'skillpacks/optional')).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(repoRoot, 'skillpacks/optional', f));

export function loadPack(file: string): SkillPack {
  const result = parseSkillPack(parse(readFileSync(file, 'utf8')));
  if (!result.ok) throw new Error(`${file}: ${result.error}`);
  return result.value;
}

const packs = new Map([...BUILT_IN, ...OPTIONAL].map((f) => { const p = loadPack(f); return [p.metadata.name ?? '', p]; }));

export function packNames(): string[] {
  return [...packs.keys()];
}

export function pack(name: string): SkillPack {
  const p = packs.get(name);
  if (!p) throw new Error(`no pack ${name}`);
  return p;
}

const executor = join(repoRoot, 'bin/skillpod-exec');

export interface Served {
  client: SkillClient;
  ipcDir: string;
  /** The tools' working directory, the agent's /workspace. */
  workspace: string;
  /** The sidecar's own HOME (its /tmp in a pod). */
  home: string;
  stop(): void;
}

export interface ServeOptions {
  ipcDir?: string;
  /** What kubectl reads; by default a file that does not exist, so nothing is dialled. */
  kubeconfig?: string;
  /** The sidecar's own env beyond the pack's (a pack Secret, a CA bundle for a loopback listener…). */
  env?: Record<string, string>;
  /** The pack to serve instead of the built-in one of that name (the attack suite's "before" run). */
  pack?: SkillPack;
  /** Serve at the pod's paths: the executor runs in its own mount namespace where the workspace is /workspace and
   *  the ipc folder is /ipc (bind mounts, as the pod's volumes are), so tools see the paths agents name. */
  podPaths?: boolean;
}

/**
 * Serves a pack's tools with the real executor. PATH holds kubectl and helm from make testbin and the machine's curl.
 */
export async function serve(name: string, options: ServeOptions = {}): Promise<Served> {
  if (!existsSync(executor)) throw new Error(`${executor} is missing: run make executor`);
  if (options.podPaths && process.getuid?.() !== 0) throw new Error('serving at the pod\'s paths needs root (unshare --mount and bind mounts on /workspace and /ipc)');
  const dir = mkdtempSync(join(tmpdir(), `skillpod-${name}-`));
  const ipcDir = options.ipcDir ?? join(dir, 'ipc');
  const workspace = join(dir, 'workspace');
  for (const d of [ipcDir, workspace, join(dir, 'home')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dir, 'annotations'), '');
  const path = [dirname(helmBinary()), testCluster.info().binDir, '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  const p = options.pack ?? pack(name);
  // The pack's own env as the pod builder writes it (KUBERC=off, the HELM_* folders), with /tmp made private to this
  // sidecar as the pod's /tmp is; then every executor setting, as the pod spec sets them all.
  const home = join(dir, 'home');
  const packEnv = Object.fromEntries((p.spec.env ?? []).map((e) => [e.name, (e.value ?? '').replace(/^\/tmp(?=\/|$)/, home)]));
  const settings = Object.fromEntries((JSON.parse(execFileSync(executor, ['settings'], { encoding: 'utf8' })) as string[]).map((k) => [k, '']));
  const env = {
    PATH: path, HOME: home, KUBECONFIG: options.kubeconfig ?? join(dir, 'no-such-kubeconfig'), ...packEnv, ...options.env,
    ...settings,
    SKILLPOD_TOOLS: toolsJSON(p.spec.tools), SKILLPOD_AGENT_UID: String(process.getuid?.() ?? 0),
    SKILLPOD_IPC_DIR: options.podPaths ? '/ipc' : ipcDir, SKILLPOD_WORKDIR: options.podPaths ? '/workspace' : workspace,
    SKILLPOD_PODINFO_FILE: join(dir, 'annotations'),
  };
  // /workspace and /ipc are created (empty) on this machine as mount points; the mounts stay in the namespace.
  const child: ChildProcess = options.podPaths
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
      'mkdir -p /workspace /ipc && mount --bind "$1" /workspace && mount --bind "$2" /ipc && exec "$3" serve --skill "$4"',
      'sidecar', workspace, ipcDir, executor, name], { stdio: ['ignore', 'ignore', 'inherit'], env })
    : spawn(executor, ['serve', '--skill', name], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const client = new SkillClient(name, { ipcDir });
  const health = await eventually(() => client.health(), 10_000, 50);
  if (!health.ready) throw new Error(`${name}: tools do not resolve: ${JSON.stringify(health.tools)}`);
  return { client, ipcDir, workspace, home, stop: () => { child.kill('SIGTERM'); } };
}
