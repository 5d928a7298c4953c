// examples/runs/ apply as they are: with the built-in SkillPacks installed and the operator running, each AgentRun gets
// its pod with one sidecar per skill and its own RBAC, and the toggle of docs/recipes.md works on switch-skills.
// examples/model/ needs a Secret first; it is checked by the schema and a server-side dry run.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAgentRun } from '../../operator/src/api/index.ts';
import { applyObjects } from '../../operator/src/install/apply.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { getRun, podOf } from '../harness/kube.ts';
import { installSkillpod, startOperator, type TestOperator } from '../harness/operator.ts';
import { kubectl } from '../harness/kubectl.ts';
import { repoRoot } from './chart-support.ts';
import { BUILT_IN } from './skillpacks-support.ts';

const run = promisify(execFile);
const runsDir = join(repoRoot, 'examples/runs');
const examples = readdirSync(runsDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ file: f, run: parse(readFileSync(join(runsDir, f), 'utf8')) as unknown }));

let operator: TestOperator;
let ns: string;

beforeAll(async () => {
  await installSkillpod();
  await applyObjects(testCluster.kubeConfig(), BUILT_IN.map((f) => parse(readFileSync(f, 'utf8')) as { apiVersion: string; kind: string }));
  operator = await startOperator();
  ns = await testCluster.createNamespace('examples', { 'pod-security.kubernetes.io/enforce': 'restricted' });
});

afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
});

describe('examples', () => {
  it('are valid AgentRuns that name only built-in SkillPacks', () => {
    expect(examples.map((e) => e.file)).toEqual(['fetch-release-notes.yaml', 'inspect-chart.yaml', 'inspect-namespace.yaml', 'switch-skills.yaml']);
    const builtIn = ['helm', 'http-fetch', 'kube-inspector'];
    for (const { file, run } of examples) {
      const parsed = parseAgentRun(run);
      expect(parsed.ok, `${file}: ${parsed.ok ? '' : parsed.error}`).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.value.metadata.namespace, `${file} takes the namespace from kubectl -n`).toBeUndefined();
      for (const skill of parsed.value.spec.skills ?? []) expect(builtIn).toContain(skill.name);
    }
  });

  it('apply as they are: each run gets its pod with a sidecar per skill, and its grants', async () => {
    const applied = await kubectl(['apply', '-n', ns, '-f', runsDir]);
    expect(applied.stderr).toBe('');
    const rbac = testCluster.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    for (const { run } of examples) {
      const { metadata, spec } = run as { metadata: { name: string }; spec: { skills: { name: string }[]; agent: { image: string } } };
      const pod = await podOf(ns, metadata.name);
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['skillpod-install', ...spec.skills.map((s) => `skill-${s.name}`)]);
      expect(pod.spec?.containers.map((c) => c.image)).toEqual([spec.agent.image]);
      const status = (await getRun(ns, metadata.name)).status;
      expect(status?.skills?.map((s) => s.name).sort()).toEqual(spec.skills.map((s) => s.name).sort());
      if (metadata.name === 'inspect-namespace') {
        const role = await rbac.readNamespacedRole({ namespace: ns, name: status!.serviceAccountName! });
        expect(role.rules?.some((r) => r.resources?.includes('pods/log'))).toBe(true);
      }
    }
  });

  it('examples/local/play-kubelet.sh takes inspect-namespace to the end on a control plane without a kubelet', async () => {
    // A HOME of its own: kubectl keeps its discovery cache under $HOME/.kube.
    const env = { PATH: `${testCluster.info().binDir}:/usr/bin:/bin`, KUBECONFIG: testCluster.info().kubeconfig, HOME: mkdtempSync(join(tmpdir(), 'play-kubelet-')) };
    const { stdout } = await run('bash', [join(repoRoot, 'examples/local/play-kubelet.sh'), ns, 'inspect-namespace', '0', 'two pods, "web" restarted'], { env });
    expect(stdout).toContain('agent exited 0');
    const done = await eventually(async () => {
      const r = await getRun(ns, 'inspect-namespace');
      expect(r.status?.phase).toBe('Succeeded');
      return r;
    });
    expect(done.status?.result).toBe('two pods, "web" restarted');
    await eventually(async () => {
      const left = await kubectl(['-n', ns, 'get', 'serviceaccounts,roles,rolebindings,networkpolicies', '-l', 'skillpod.io/run=inspect-namespace', '-o', 'name']);
      expect(left.stdout.trim()).toBe('');
    });
  });

  it('switch-skills: the kubectl patch of its comment switches kube-inspector on, granting its rules', async () => {
    const before = await getRun(ns, 'switch-skills');
    expect(before.status?.skills?.find((s) => s.name === 'kube-inspector')).toMatchObject({ enabled: false });
    const header = readFileSync(join(runsDir, 'switch-skills.yaml'), 'utf8');
    const patch = /-p '(\{.*\})'/.exec(header)?.[1];
    expect(patch).toBeDefined();
    const patched = await kubectl(['-n', ns, 'patch', 'agentrun', 'switch-skills', '--type', 'merge', '-p', patch!]);
    expect(patched.stderr).toBe('');
    await eventually(async () => {
      const run = await getRun(ns, 'switch-skills');
      expect(run.status?.skills?.find((s) => s.name === 'kube-inspector')).toMatchObject({ enabled: true, rbac: 'Granted' });
    });
  });

  it('examples/model/ is valid and accepted by a server-side dry run (its Secret is created by the reader)', async () => {
    const text = readFileSync(join(repoRoot, 'examples/model/agentrun-with-model.yaml'), 'utf8');
    const parsed = parseAgentRun(parse(text));
    expect(parsed.ok, parsed.ok ? '' : parsed.error).toBe(true);
    const result = await kubectl(['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'], { input: text });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('agentrun.skillpod.io/diagnose-with-model serverside-applied (server dry run)');
  });
});
