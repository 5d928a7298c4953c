// The typed tool that docs/api.md shows ("Writing a SkillPack tool") is valid as written, and the real executor
// renders the call the page shows into the argv the page says. The tool's command is swapped for /bin/echo so the
// argv comes back as output; everything else (parameters, args) is the page's YAML.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSkillPack, type Tool } from '../../operator/src/api/index.ts';
import { toolsJSON } from '../../operator/src/builders/index.ts';
import { eventually } from '../harness/eventually.ts';
import { repoRoot } from '../harness/operator.ts';

const executor = join(repoRoot, 'bin/skillpod-exec');
const page = readFileSync(join(repoRoot, 'docs/api.md'), 'utf8');
const section = page.slice(page.indexOf('## Writing a SkillPack tool'));
const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const call = /`skillpod-exec call <pack> logs --input '([^']*)'`/.exec(section)?.[1] ?? '';
const runs = /which runs `kubectl ([^`]*)`/.exec(section)?.[1] ?? '';

function docTool(): Tool {
  const parsed = parseSkillPack({
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'docs' },
    spec: { description: 'the example of docs/api.md', image: 'registry.k8s.io/kubectl:v1.36.3', ...(parse(yamlBlock) as object) },
  });
  if (!parsed.ok) throw new Error(`docs/api.md's example tool is invalid: ${parsed.error}`);
  const [tool] = parsed.value.spec.tools;
  return tool!;
}

let dir: string;
let child: ReturnType<typeof spawn> | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skillpod-docs-tool-'));
  for (const d of ['ipc', 'workspace', 'home']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'annotations'), '');
  const tool = { ...docTool(), command: ['/bin/echo', 'logs'] };
  const keys = JSON.parse((await promisify(execFile)(executor, ['settings'])).stdout) as string[];
  const settings: Record<string, string> = Object.fromEntries(keys.map((k) => [k, '']));
  Object.assign(settings, {
    SKILLPOD_TOOLS: toolsJSON([tool]), SKILLPOD_AGENT_UID: String(process.getuid?.() ?? 0), SKILLPOD_IPC_DIR: join(dir, 'ipc'),
    SKILLPOD_WORKDIR: join(dir, 'workspace'), SKILLPOD_PODINFO_FILE: join(dir, 'annotations'),
  });
  child = spawn(executor, ['serve', '--skill', 'docs'], { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), ...settings } });
  await eventually(() => cli('probe', '--skill', 'docs'), 10_000, 50);
});
afterAll(() => {
  child?.kill('SIGTERM');
});

function cli(...args: string[]) {
  return promisify(execFile)(executor, args, { env: { SKILLPOD_IPC_DIR: join(dir, 'ipc') } });
}

describe('docs/api.md, "Writing a SkillPack tool"', () => {
  it('shows a tool, a call and the argv it runs', () => {
    expect(docTool().parameters?.required).toEqual(['pod']);
    expect(call).not.toBe('');
    expect(runs).toBe('logs web-1 --tail=100 --previous');
  });

  it('renders as the page says with the real executor', async () => {
    const { stdout } = await cli('call', 'docs', 'logs', '--input', call);
    expect(stdout.trim()).toBe(runs);
  });

  it('refuses a value that would become a flag in a bare position, naming the parameter', async () => {
    const refused = await cli('call', 'docs', 'logs', '--input', '{"pod":"--kubeconfig=/workspace/rc"}').then(() => '', (e: { stderr: string }) => e.stderr);
    expect(refused).toContain('pod');
    expect(refused).toMatch(/-|flag|pattern/);
  });
});
