// Attack suite, the executor's own settings (issue 13): a skill image is chosen by whoever writes the SkillPack, and its
// ENV is part of the container's environment. Settings the pod does not set come from there: before the change only
// SKILLPOD_TOOLS and SKILLPOD_AGENT_UID were set, so an image could, among others, point SKILLPOD_PODINFO_FILE at a
// file that does not exist (which opened the switch-off gate), move the socket, or lift every limit. Here the sidecar
// container the real pod builder writes is started the way a container runtime starts it (the image's ENV, then the
// pod's env over it) with the real executor, and what the executor actually uses is checked.
//
// Body and connection floods are the executor's own tests (sidecar-images/executor/cmd/skillpod-exec/flood_test.go: 200 connections
// trickling bodies, RSS measured; the old binary reached 238 MiB, now ~13 MiB; and the connection cap in
// cmd/skillpod-exec/typed_api_test.go); socket replacement and destination escape are in attack-helm.test.ts.
//
// The "before" run needs the old builder and executor: SKILLPOD_ATTACK_TREE names a folder holding operator/src and
// bin/skillpod-exec of the old code (git archive <commit> operator/src sidecar-images/executor, built with go build).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { SkillClient } from '../../clients/typescript/src/index.ts';
import { eventually } from '../harness/eventually.ts';
import { repoRoot } from './chart-support.ts';

const tree = process.env.SKILLPOD_ATTACK_TREE ?? repoRoot;
const executor = join(tree, 'bin/skillpod-exec');

interface Builders { buildPod(ref: unknown, run: unknown, packs: unknown, settings: unknown): V1Pod; runRef(run: unknown): unknown }
interface Fixtures { agentRun(spec: object): unknown; packs: Map<string, unknown>; settings: unknown }

const children: ChildProcess[] = [];
afterAll(() => { for (const c of children) c.kill('SIGTERM'); });

describe('image-ENV settings', () => {
  it('settings from the skill image\'s ENV never take effect: the pod sets every one the executor reads', async () => {
    const builders = await import(join(tree, 'operator/src/builders/index.ts')) as Builders;
    const fixtures = await import(join(tree, 'operator/src/builders/testdata/fixtures.ts')) as Fixtures;
    const name = [...fixtures.packs.keys()][0]!;
    const run = fixtures.agentRun({ skills: [{ name }] });
    const pod = builders.buildPod(builders.runRef(run), run, fixtures.packs, fixtures.settings);
    const container = pod.spec?.initContainers?.find((c: V1Container) => c.name === `skill-${name}`);
    expect(container, `skill-${name}`).toBeDefined();

    const dir = mkdtempSync(join(tmpdir(), 'skillpod-attack-env-'));
    const at = (p: string) => { mkdirSync(join(dir, p), { recursive: true }); return join(dir, p); };
    // The pod's paths, here: its /ipc, its /workspace, and its podinfo file, which switches this skill off.
    const podPaths: Record<string, string> = { '/ipc': at('pod-ipc'), '/workspace': at('pod-workspace'), '/skillpod/podinfo/annotations': join(at('pod-podinfo'), 'annotations') };
    writeFileSync(podPaths['/skillpod/podinfo/annotations']!, `skillpod.io/disabled-skills="${name}"\n`);
    // What a hostile image sets in its ENV.
    const imageEnv: Record<string, string> = {
      SKILLPOD_PODINFO_FILE: join(dir, 'no-such-podinfo'),
      SKILLPOD_IPC_DIR: at('image-ipc'),
      SKILLPOD_WORKDIR: '/',
      SKILLPOD_MAX_CONCURRENCY: '1000',
      SKILLPOD_MAX_CONNECTIONS: '100000',
      SKILLPOD_MAX_BODY_BYTES: '67108864',
      SKILLPOD_MAX_OUTPUT_BYTES: '67108864',
      SKILLPOD_READ_TIMEOUT: '5m',
      SKILLPOD_KILL_GRACE: '1m',
    };
    // The container runtime's order: the image's ENV, then the container's env from the pod spec over it.
    const podEnv = Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, podPaths[e.value!] ?? e.value!]));
    podEnv.SKILLPOD_AGENT_UID = String(process.getuid?.() ?? 0);
    const env = { PATH: '/usr/bin:/bin', HOME: at('home'), ...imageEnv, ...podEnv };

    const child = spawn(executor, ['serve', '--skill', name], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let log = '';
    child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
    const serving = await eventually(() => {
      const line = log.split('\n').find((l) => l.includes('"msg":"serving"'));
      if (!line) throw new Error(`not serving yet: ${log}`);
      return JSON.parse(line) as { socket: string; maxConcurrency?: number; maxConnections?: number };
    }, 10_000, 50);

    expect.soft(serving.socket.startsWith(podPaths['/ipc']!), `the socket is where the pod says (${serving.socket})`).toBe(true);
    expect.soft(existsSync(join(dir, 'image-ipc', name))).toBe(false);
    expect.soft(serving.maxConcurrency, 'the image\'s concurrency limit').not.toBe(1000);
    expect.soft(serving.maxConnections, 'the image\'s connection limit').not.toBe(100000);
    const list = await new SkillClient(name, { socketPath: serving.socket }).list();
    expect.soft(list.enabled, `the pod switched ${name} off; the image's podinfo path would open the gate (${list.gateReason ?? ''})`).toBe(false);
    expect.soft(list.gateReason).toContain('switched off');
  });
});
