// Runs the client against the real executor binary on a real socket. Build it first:
//   make -C sidecar-images/executor build   (or set SKILLPOD_EXEC_BIN)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorError, SkillClient, listSkills, outputBytes } from './index.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = process.env.SKILLPOD_EXEC_BIN ?? join(repoRoot, 'bin', 'skillpod-exec');

const printArgs = `for a in "$@"; do printf '[%s]\\n' "$a"; done`;
const tools = [
  { name: 'echo', description: 'prints its arguments', command: ['/bin/echo'], freeArguments: true },
  { name: 'fail', command: ['/bin/sh', '-c', 'echo "$1" >&2; exit 3', 'fail'], freeArguments: true },
  { name: 'cat', command: ['/bin/cat'] },
  { name: 'nap', command: ['sleep'], freeArguments: true },
  { name: 'bytes', command: ['/bin/sh', '-c', "printf '\\377\\001'"] },
  { name: 'env', command: ['/usr/bin/env'] },
  {
    name: 'kubectl',
    command: ['/bin/echo', 'kubectl'],
    freeArguments: true,
    argPolicy: { deniedFlags: ['--token', '--server', '-s'], parser: 'pflag' },
  },
  {
    name: 'logs',
    description: 'typed',
    command: ['/bin/sh', '-c', printArgs, 'logs'],
    parameters: {
      type: 'object',
      required: ['pod'],
      properties: {
        pod: { type: 'string', pattern: '^[a-z0-9-]+$' },
        tail: { type: 'integer', minimum: 0 },
        previous: { type: 'boolean' },
      },
    },
    args: [['{pod}'], ['--tail', '{tail}'], ['--previous', '{previous}']],
  },
];

let dir = '';
let ipcDir = '';
let proc: ChildProcess | undefined;
let diagnostics = ''; // the executor's stderr, shown if it does not start
let client: SkillClient;

beforeAll(async () => {
  if (!existsSync(bin)) {
    throw new Error(`executor binary ${bin} is missing: run "make -C sidecar-images/executor build" or set SKILLPOD_EXEC_BIN`);
  }
  dir = await mkdtemp(join(tmpdir(), 'spx-ts-'));
  ipcDir = join(dir, 'ipc');
  await mkdir(ipcDir);
  await mkdir(join(dir, 'work'));
  await writeFile(join(dir, 'annotations'), ''); // without the podinfo file every tool is switched off
  // serve requires every setting it reads to be present (empty = default), as the operator writes them.
  const keys = JSON.parse(execFileSync(bin, ['settings'], { encoding: 'utf8' })) as string[];
  const settings: Record<string, string> = Object.fromEntries(keys.map((k) => [k, '']));
  proc = spawn(bin, ['serve', '--skill', 'demo'], {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: dir,
      ...settings,
      SKILLPOD_TOOLS: JSON.stringify(tools),
      SKILLPOD_AGENT_UID: String(process.getuid?.() ?? 0),
      SKILLPOD_IPC_DIR: ipcDir,
      SKILLPOD_WORKDIR: join(dir, 'work'),
      SKILLPOD_PODINFO_FILE: join(dir, 'annotations'),
      SKILLPOD_KILL_GRACE: '200ms',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (chunk: Buffer) => (diagnostics += chunk.toString()));
  client = new SkillClient('demo', { ipcDir });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await client.health()).ready) break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`executor not ready:\n${diagnostics}`, { cause: err });
    }
    if (proc.exitCode !== null) throw new Error(`executor exited with ${proc.exitCode}:\n${diagnostics}`);
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc?.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('@skillpod/client against the real executor', () => {
  it('finds the pack and lists its tools', async () => {
    // Only <ipcDir>/<pack>/exec.sock counts: not a symbolic link to a pack's directory, not a regular file
    // named exec.sock, not the old <ipcDir>/<pack>.sock.
    await symlink(join(ipcDir, 'demo'), join(ipcDir, 'linked'));
    await mkdir(join(ipcDir, 'fake'));
    await writeFile(join(ipcDir, 'fake', 'exec.sock'), 'not a socket');
    await writeFile(join(ipcDir, 'old.sock'), '');
    expect(await listSkills(ipcDir)).toEqual(['demo']);
    await expect(new SkillClient('linked', { ipcDir }).list()).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(new SkillClient('fake', { ipcDir }).list()).rejects.toMatchObject({ code: 'ENOTSOCK' });
    const list = await client.list();
    expect(list.skill).toBe('demo');
    expect(list.enabled).toBe(true);
    expect(list.tools.map((t) => t.name)).toEqual(tools.map((t) => t.name));
    expect(list.tools[0]).toMatchObject({ description: 'prints its arguments', timeoutSeconds: 60 });
    expect(list.tools.find((t) => t.name === 'kubectl')?.argPolicy?.deniedFlags).toContain('--token');
    const logs = list.tools.find((t) => t.name === 'logs');
    expect(logs?.parameters).toEqual(tools.find((t) => t.name === 'logs')?.parameters); // as given
    expect(logs?.freeArguments).toBeUndefined();
    expect(list.tools.find((t) => t.name === 'echo')?.freeArguments).toBe(true);
  });

  it('runs a typed tool with input; a refused input names the parameter', async () => {
    const res = await client.run('logs', { input: { pod: 'web-0', tail: 5, previous: true } });
    expect(res).toMatchObject({ tool: 'logs', exitCode: 0, stdout: '[web-0]\n[--tail]\n[5]\n[--previous]\n' });
    const started = await client.runAsync('logs', { input: { pod: 'web-1' } });
    expect((await client.wait(started.id)).result?.stdout).toBe('[web-1]\n');

    await expect(client.run('logs', { input: { pod: '-A' } })).rejects.toMatchObject({
      status: 400,
      code: 'input_refused',
      body: { parameter: 'pod' },
    });
    await expect(client.run('logs', { input: { pod: 'web', kubeconfig: '/x' } })).rejects.toMatchObject({
      code: 'input_refused',
      body: { parameter: 'kubeconfig' },
    });
    await expect(client.call('logs', ['web-0'])).rejects.toMatchObject({ status: 400, code: 'args_not_accepted' });
    await expect(client.run('echo', { input: { a: 'b' } })).rejects.toMatchObject({ status: 400, code: 'input_not_accepted' });
    // A tool without input runs with run() and nothing else.
    expect((await client.run('cat', { stdin: 'from stdin' })).stdout).toBe('from stdin');
  });

  it('calls a tool: arguments stay literal, output and exit code come back', async () => {
    const res = await client.call('echo', ['hello', '$(id)', ';', '*']);
    expect(res).toMatchObject({ tool: 'echo', exitCode: 0, stdout: 'hello $(id) ; *\n', timedOut: false, truncated: false });

    const failed = await client.call('fail', ['why']);
    expect(failed).toMatchObject({ exitCode: 3, stderr: 'why\n' });

    expect((await client.call('cat', [], { stdin: 'from stdin' })).stdout).toBe('from stdin');
    const env = await client.run('env', { env: { SKILL_MODE: 'fast' } });
    expect(env.stdout).toContain('SKILL_MODE=fast');
    expect(env.stdout).not.toContain('SKILLPOD_');

    const bytes = await client.call('bytes');
    expect(bytes.stdoutEncoding).toBe('base64');
    expect([...outputBytes(bytes, 'stdout')]).toEqual([0xff, 0x01]);
  });

  it('turns refusals into ExecutorError with the status and the JSON error', async () => {
    const refused = await client.call('kubectl', ['get', 'pods', '--token=abc']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ExecutorError);
    expect(refused).toMatchObject({ status: 400, code: 'argument_refused', body: { index: 2 } });

    await expect(client.call('nope')).rejects.toMatchObject({ status: 400, code: 'unknown_tool' });
    await expect(client.call('env', [], { env: { LD_PRELOAD: '/x.so' } })).rejects.toMatchObject({
      status: 400,
      code: 'env_refused',
    });
    await expect(client.poll('0'.repeat(32))).rejects.toMatchObject({ status: 404, code: 'not_found' });
    // Names that are not DNS labels never leave the client.
    expect(() => client.call('../../bin/sh')).toThrow(TypeError);
    expect(() => new SkillClient('../x')).toThrow(TypeError);
  });

  it('answers 503 while the skill is switched off', async () => {
    const annotations = join(dir, 'annotations');
    await writeFile(annotations, 'skillpod.io/disabled-skills="demo"\n');
    try {
      await expect(client.call('echo')).rejects.toMatchObject({ status: 503, code: 'skill_disabled' });
      expect((await client.list()).enabled).toBe(false);
    } finally {
      await writeFile(annotations, '');
    }
    expect((await client.call('echo', ['on'])).stdout).toBe('on\n');
  });

  it('runs asynchronously: poll, wait, cancel', async () => {
    const started = await client.callAsync('nap', ['1']);
    expect(started.state).toBe('running');
    expect(started.id).toMatch(/^[0-9a-f]{32}$/);
    expect((await client.poll(started.id)).state).toBe('running');

    const done = await client.wait(started.id);
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ exitCode: 0, timedOut: false });

    const long = await client.callAsync('nap', ['300']);
    const cancelled = await client.cancel(long.id);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.result?.stopReason).toBe('cancelled');

    const ids = (await client.runs()).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining([started.id, long.id]));
  });

  it('reports a missing socket as a connection error, not an ExecutorError', async () => {
    const absent = new SkillClient('absent', { ipcDir });
    await expect(absent.list()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
