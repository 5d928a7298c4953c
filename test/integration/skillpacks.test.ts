// The built-in SkillPacks (skillpacks/*.yaml) and the optional ones (skillpacks/optional/*.yaml): valid by the zod
// schema, within the default grant policy (or, for kube-operator, beyond it by exactly the entries the docs and
// values-kube-operator.yaml name), accepted by the real API server with its admission policies, Ready for the
// operator, and their argument policies enforced as their instructions say by the real executor (bin/skillpod-exec).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CustomObjectsApi, CoreV1Api } from '@kubernetes/client-node';
import { ExecutorError, type SkillClient, type ToolInput } from '../../clients/typescript/src/index.ts';
import type { SkillPack } from '../../operator/src/api/index.ts';
import { applyObjects } from '../../operator/src/install/apply.ts';
import { grantPolicyData } from '../../operator/src/policy/configmap.ts';
import { DEFAULT_GRANT_POLICY, packViolations, type GrantPolicy } from '../../operator/src/policy/grant-policy.ts';
import { skillPackAdmissionPolicy } from '../../operator/src/policy/skillpack-admission.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { installSkillpod, startOperator, type TestOperator } from '../harness/operator.ts';
import { chartDir, repoRoot } from './chart-support.ts';
import { BUILT_IN, loadPack as load, OPTIONAL, pack, packNames, serve, type Served } from './skillpacks-support.ts';

/** The grant policy of helm/skillpod/values-kube-operator.yaml. */
const kubeOperatorValues = (parse(readFileSync(join(chartDir, 'values-kube-operator.yaml'), 'utf8')) as { grantPolicy: Partial<GrantPolicy> }).grantPolicy;
const kubeOperatorPolicy: GrantPolicy = { rules: kubeOperatorValues.rules ?? [], clusterRules: kubeOperatorValues.clusterRules ?? [] };

describe('SkillPacks: schema and grant policy', () => {
  it('ships kube-inspector, helm and http-fetch built in, and kube-operator as an option', () => {
    expect(BUILT_IN.map((f) => load(f).metadata.name)).toEqual(['helm', 'http-fetch', 'kube-inspector']);
    expect(OPTIONAL.map((f) => load(f).metadata.name)).toEqual(['kube-operator']);
  });

  it.each(packNames())('%s: upstream image pinned to a version, instructions that name every tool, resources set', (name) => {
    const p = pack(name);
    expect(p.spec.image).toMatch(/^(registry\.k8s\.io\/kubectl|alpine\/helm|curlimages\/curl):v?\d+\.\d+\.\d+$/);
    for (const tool of p.spec.tools) {
      expect(p.spec.instructions, `instructions of ${name} show ${tool.name}`).toContain(`skillpod-exec call ${name} ${tool.name}`);
      expect(tool.parameters, `${name}/${tool.name} is typed`).toBeDefined();
      expect(tool.freeArguments, `${name}/${tool.name} takes no free arguments`).toBeUndefined();
      expect(tool.command[0], 'a bare name looked up in PATH').toMatch(/^[a-z]+$/);
    }
    expect(p.spec.resources?.limits).toBeDefined();
  });

  it.each(BUILT_IN.map((f) => load(f).metadata.name ?? ''))('%s is within the default grant policy', (name) => {
    expect(packViolations(pack(name).spec.rbac, DEFAULT_GRANT_POLICY)).toEqual([]);
  });

  it('kube-operator needs exactly the entries of values-kube-operator.yaml beyond the default, and fits within them', () => {
    expect(packViolations(pack('kube-operator').spec.rbac, DEFAULT_GRANT_POLICY)).toEqual([
      'spec.rbac.rules[2]: patch on deployments.apps is not in the grant policy',
      'spec.rbac.rules[2]: patch on statefulsets.apps is not in the grant policy',
      'spec.rbac.rules[2]: patch on daemonsets.apps is not in the grant policy',
      'spec.rbac.rules[3]: get, patch, update on deployments/scale.apps is not in the grant policy',
      'spec.rbac.rules[3]: get, patch, update on statefulsets/scale.apps is not in the grant policy',
      'spec.rbac.rules[4]: get, list, watch on controllerrevisions.apps is not in the grant policy',
      'spec.rbac.rules[5]: delete on pods is not in the grant policy',
    ]);
    expect(packViolations(pack('kube-operator').spec.rbac, kubeOperatorPolicy)).toEqual([]);
    // values-kube-operator.yaml repeats the defaults (Helm replaces lists) and adds only what kube-operator needs.
    expect(kubeOperatorPolicy.rules.slice(0, DEFAULT_GRANT_POLICY.rules.length)).toEqual(DEFAULT_GRANT_POLICY.rules);
    expect(kubeOperatorPolicy.clusterRules ?? []).toEqual([]);
  });

  it('pins every config and plugin location its tool reads', () => {
    const env = (name: string) => Object.fromEntries((pack(name).spec.env ?? []).map((e) => [e.name, e.value]));
    for (const name of ['kube-inspector', 'kube-operator']) expect(env(name)).toMatchObject({ KUBERC: 'off' });
    // Plugins and configuration: folders that do not exist (and cannot be made on a read-only root); caches: the
    // sidecar's own /tmp. Every HELM_* location helm has is named.
    expect(Object.keys(env('helm')).sort()).toEqual(['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_CONTENT_CACHE', 'HELM_DATA_HOME', 'HELM_PLUGINS',
      'HELM_REGISTRY_CONFIG', 'HELM_REPOSITORY_CACHE', 'HELM_REPOSITORY_CONFIG']);
    for (const [key, value] of Object.entries(env('helm'))) expect(value, key).toMatch(/CACHE/.test(key) ? /^\/tmp\/helm\/cache(\/|$)/ : /^\/nonexistent\//);
    expect(pack('http-fetch').spec.tools[0]!.command.slice(0, 2)).toEqual(['curl', '--disable']); // no .curlrc
    for (const name of packNames()) expect((pack(name).spec.env ?? []).every((e) => e.valueFrom === undefined), name).toBe(true);
  });

  it('no built-in pack asks for Secrets, cluster rules, or writes', () => {
    for (const name of BUILT_IN.map((f) => load(f).metadata.name ?? '')) {
      const rbac = pack(name).spec.rbac;
      expect(rbac?.clusterRules ?? []).toEqual([]);
      for (const rule of rbac?.rules ?? []) {
        expect(rule.resources).not.toContain('secrets');
        expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
      }
    }
  });
});

describe('SkillPacks: on the API server and for the operator', () => {
  const kc = testCluster.kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const GROUP = { group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks' };
  const POLICY = { namespace: 'skillpod-system', name: 'skillpod-grant-policy' };
  let operator: TestOperator | undefined;
  /** The grant policy as an install with this policy leaves it: the ConfigMap, and the SkillPack admission policy
   *  and grantable ClusterRole rendered from it (what the chart renders from values.grantPolicy). */
  const setGrantPolicy = async (policy: GrantPolicy) => {
    const current = await core.readNamespacedConfigMap(POLICY);
    await core.replaceNamespacedConfigMap({ ...POLICY, body: { ...current, data: grantPolicyData(policy) } });
    await applyObjects(kc, [skillPackAdmissionPolicy(grantPolicyData(policy))]);
  };

  beforeAll(async () => {
    await installSkillpod(); // CRDs, admission policies, the default grant policy, the operator's RBAC
  });
  afterAll(async () => {
    await operator?.stop();
    for (const name of packNames()) await custom.deleteClusterCustomObject({ ...GROUP, name }).catch(() => undefined);
    // Put the default grant policy back (this file widened it for a moment).
    await setGrantPolicy(DEFAULT_GRANT_POLICY).catch(() => undefined);
  });

  it('accepts every built-in pack as it is (server-side apply, admission policies on)', async () => {
    for (const file of BUILT_IN) {
      const body = parse(readFileSync(file, 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string } };
      await applyObjects(kc, [body]); // what make install does
      const stored = await custom.getClusterCustomObject({ ...GROUP, name: body.metadata.name }) as { spec: SkillPack['spec'] };
      expect(stored.spec.tools.map((t) => t.name)).toEqual(pack(body.metadata.name).spec.tools.map((t) => t.name));
    }
  });

  it('refuses kube-operator under the default grant policy, naming the rule, and accepts it with the documented entries', async () => {
    const body = parse(readFileSync(join(repoRoot, 'skillpacks/optional/kube-operator.yaml'), 'utf8')) as object;
    // The admission policy takes effect once the API server's policy cache has it: retry the dry run until then.
    const refused = await eventually(async () => {
      const err = await custom.createClusterCustomObject({ ...GROUP, body, dryRun: 'All' }).then(() => undefined, (e: unknown) => e as { code?: number; body?: string });
      if (!err) throw new Error('kube-operator was accepted under the default grant policy');
      return err;
    }, 15_000);
    expect(refused.code).toBe(403);
    expect(refused.body).toContain('spec.rbac.rules[2] asks for what the grant policy');
    expect(refused.body).toContain('patch on deployments.apps');

    await setGrantPolicy(kubeOperatorPolicy);
    try {
      // The API server's policy cache takes a moment to see the re-rendered policy.
      await eventually(async () => { await custom.createClusterCustomObject({ ...GROUP, body, dryRun: 'All' }); }, 10_000);
    } finally {
      await setGrantPolicy(DEFAULT_GRANT_POLICY);
    }
  });

  it('the operator, reading the default grant policy, marks every built-in pack Ready', async () => {
    operator = await startOperator();
    for (const file of BUILT_IN) {
      const name = load(file).metadata.name ?? '';
      await eventually(async () => {
        const p = await custom.getClusterCustomObject({ ...GROUP, name }) as SkillPack;
        const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
        expect(ready, name).toMatchObject({ status: 'True', reason: 'Valid' });
      });
    }
  });
});

// ------------------------------------------------------------------------------------------------------------------
// The typed tools, enforced by the real executor. Each pack's tools are served as a sidecar would serve them
// (SKILLPOD_TOOLS from the pack, its env, every setting); the test process is "the agent" (SKILLPOD_AGENT_UID is its
// own UID). A refused input is HTTP 400 input_refused naming the parameter, and nothing runs; an allowed one runs the
// real tool (kubectl and helm from make testbin, the machine's curl) against nothing reachable: only loopback is
// dialled, and kubectl reads a kubeconfig that does not exist.

type Input = Record<string, unknown>;
/** 'refused:<parameter>' when the executor refuses the input, else the tool's exit code. */
async function outcome(client: SkillClient, tool: string, input: Input): Promise<string | number> {
  try {
    return (await client.run(tool, { input: input as ToolInput, timeoutSeconds: 20 })).exitCode;
  } catch (err) {
    if (err instanceof ExecutorError && err.code === 'input_refused') return `refused:${err.body?.parameter ?? ''}`;
    throw err;
  }
}

interface InputCase { tool: string; input: Input; parameter: string }
const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

// Each attempt names the parameter the executor must refuse: a key the schema does not have, a value outside its
// enum or pattern, a value that would become a flag.
const refusals: Record<string, InputCase[]> = {
  'kube-inspector': [
    { tool: 'get', input: { resource: 'pods', kubeconfig: '/workspace/kubeconfig' }, parameter: 'kubeconfig' },
    { tool: 'get', input: { resource: 'pods', kuberc: '/workspace/rc' }, parameter: 'kuberc' },
    { tool: 'get', input: { resource: 'pods', name: '--kubeconfig=/workspace/kubeconfig' }, parameter: 'name' },
    { tool: 'get', input: { resource: 'pods', name: '--server=https://attacker.example' }, parameter: 'name' },
    { tool: 'get', input: { resource: 'secrets' }, parameter: 'resource' },
    { tool: 'get', input: { resource: '--raw=/api/v1/secrets' }, parameter: 'resource' },
    { tool: 'get', input: { resource: 'pods', output: `go-template-file=${SA_TOKEN}` }, parameter: 'output' },
    { tool: 'get', input: { resource: 'pods', output: 'jsonpath-file=/workspace/t' }, parameter: 'output' },
    { tool: 'get', input: { resource: 'pods', jsonpath: 'x --kubeconfig=/x' }, parameter: 'jsonpath' },
    { tool: 'get', input: { resource: 'pods', selector: '-w' }, parameter: 'selector' },
    { tool: 'get', input: { resource: 'pods', watch: true }, parameter: 'watch' },
    { tool: 'logs', input: { pod: 'web-0', follow: true }, parameter: 'follow' },
    { tool: 'logs', input: { pod: '-f' }, parameter: 'pod' },
    { tool: 'logs', input: { pod: 'web-0', since: '1h --token=x' }, parameter: 'since' },
    { tool: 'describe', input: { resource: 'pods', name: 'web-0', cacheDir: '/workspace/c' }, parameter: 'cacheDir' },
    { tool: 'can-i', input: { list: true, as: 'system:admin' }, parameter: 'as' },
    { tool: 'events', input: { object: '--as=system:admin' }, parameter: 'object' },
  ],
  'kube-operator': [
    { tool: 'delete-pod', input: { name: '-l app=web' }, parameter: 'name' },
    { tool: 'delete-pod', input: { name: 'web-0', selector: 'app=web' }, parameter: 'selector' },
    { tool: 'delete-pod', input: { name: '--all' }, parameter: 'name' },
    { tool: 'delete-pod', input: { name: 'web-0', namespace: 'kube-system' }, parameter: 'namespace' },
    { tool: 'set-image', input: { kind: 'deployment', name: 'web', container: 'web', image: 'nginx --server=https://x' }, parameter: 'image' },
    { tool: 'scale', input: { kind: 'deployment', name: 'web', replicas: 1000 }, parameter: 'replicas' },
    { tool: 'scale', input: { kind: 'pods', name: 'web', replicas: 1 }, parameter: 'kind' },
    { tool: 'rollout', input: { action: 'restart', kind: 'deployment', name: 'web', filename: SA_TOKEN }, parameter: 'filename' },
  ],
  helm: [
    { tool: 'template', input: { chart: '/workspace/chart', postRenderer: '/bin/sh' }, parameter: 'postRenderer' },
    { tool: 'template', input: { chart: '/workspace/chart', set: ['--post-renderer=/bin/sh'] }, parameter: 'set' },
    { tool: 'template', input: { chart: '--kubeconfig=/x' }, parameter: 'chart' },
    { tool: 'template', input: { chart: '/workspace/../proc/self/environ' }, parameter: 'chart' },
    { tool: 'template', input: { chart: '/workspace/chart', values: ['/var/run/secrets/kubernetes.io/serviceaccount/token'] }, parameter: 'values' },
    { tool: 'show', input: { what: 'values', chart: 'web', repo: 'http://charts.example' }, parameter: 'repo' },
    { tool: 'show', input: { what: 'chart', chart: 'file:///etc/passwd' }, parameter: 'chart' },
    { tool: 'show', input: { what: 'values', chart: 'web', repo: 'https://charts.example', insecureSkipTlsVerify: true }, parameter: 'insecureSkipTlsVerify' },
    { tool: 'pull', input: { chart: 'web', repo: 'https://charts.example', destination: '/ipc' }, parameter: 'destination' },
    { tool: 'pull', input: { chart: 'web', repo: 'https://charts.example', destination: '/workspace/../ipc/kube-inspector' }, parameter: 'destination' },
    { tool: 'pull', input: { chart: 'web', repo: 'https://charts.example', destination: '/skillpod/bin' }, parameter: 'destination' },
    { tool: 'pull', input: { chart: 'evil+plugin://x/y' }, parameter: 'chart' },
    { tool: 'search-hub', input: { keyword: '--endpoint=https://attacker.example' }, parameter: 'keyword' },
    { tool: 'search-hub', input: { keyword: 'nginx', endpoint: 'https://attacker.example' }, parameter: 'endpoint' },
    { tool: 'template', input: { chart: '/workspace/chart', showOnly: ['--post-renderer=/bin/sh'] }, parameter: 'showOnly' },
  ],
  'http-fetch': [
    { tool: 'fetch', input: { url: 'https://example.com/', output: '/workspace/x' }, parameter: 'output' },
    { tool: 'fetch', input: { url: 'file:///etc/passwd' }, parameter: 'url' },
    { tool: 'fetch', input: { url: 'FILE:///proc/self/environ' }, parameter: 'url' },
    { tool: 'fetch', input: { url: 'http://example.com/' }, parameter: 'url' },
    { tool: 'fetch', input: { url: '-K/workspace/curlrc' }, parameter: 'url' },
    { tool: 'fetch', input: { url: 'https://example.com/ --config /workspace/curlrc' }, parameter: 'url' },
    { tool: 'fetch', input: { url: 'https://example.com/', headers: ['@/proc/self/environ'] }, parameter: 'headers' },
    { tool: 'fetch', input: { url: 'https://example.com/', headers: ['X: a\r\nHost: evil'] }, parameter: 'headers' },
    { tool: 'fetch', input: { url: 'https://example.com/', method: 'CONNECT' }, parameter: 'method' },
    { tool: 'fetch', input: { url: 'https://example.com/', proxy: 'http://proxy.example:3128' }, parameter: 'proxy' },
    { tool: 'fetch', input: { url: 'https://example.com/', urlQuery: 'a@/proc/self/environ' }, parameter: 'urlQuery' },
  ],
};

// Allowed inputs: they run the real tool, which fails for want of a cluster or a listener (loopback only).
const allowed: Record<string, Array<{ tool: string; input: Input }>> = {
  'kube-inspector': [
    { tool: 'get', input: { resource: 'pods', output: 'wide' } },
    { tool: 'get', input: { resource: 'deployments', selector: 'app=web' } },
    { tool: 'get', input: { resource: 'pods', jsonpath: '{.items[*].metadata.name}' } },
    { tool: 'logs', input: { pod: 'deploy/web', tail: 100, allContainers: true, since: '1h' } },
    { tool: 'events', input: { object: 'deployment/web', types: 'Warning' } },
    { tool: 'can-i', input: { list: true } },
    { tool: 'explain', input: { field: 'deployment.spec.strategy' } },
  ],
  'kube-operator': [
    { tool: 'delete-pod', input: { name: 'web-7d9c6b6f4-abcde', gracePeriodSeconds: 30 } },
    { tool: 'scale', input: { kind: 'deployment', name: 'web', replicas: 3 } },
    { tool: 'rollout', input: { action: 'status', kind: 'deployment', name: 'web', timeout: '5s' } },
    { tool: 'set-image', input: { kind: 'deployment', name: 'web', container: 'web', image: 'nginx:1.27' } },
  ],
  helm: [
    { tool: 'template', input: { release: 'web', chart: '/workspace/no-such-chart', namespace: 'team-a', set: ['replicas=2'] } },
    { tool: 'lint', input: { chart: '/workspace/no-such-chart', strict: true } },
    { tool: 'template', input: { chart: '/workspace/no-such-chart', showOnly: ['templates/a.yaml'], includeCrds: true, skipTests: true } },
    { tool: 'show', input: { what: 'chart', chart: 'podinfo', repo: 'https://127.0.0.1:9/podinfo' } },
  ],
  'http-fetch': [
    { tool: 'fetch', input: { url: 'https://127.0.0.1:9/', include: true } },
    { tool: 'fetch', input: { url: 'https://127.0.0.1:9/', method: 'POST', headers: ['Content-Type: application/json'], body: '{"q":1}' } },
    { tool: 'fetch', input: { url: 'https://127.0.0.1:9/', body: '@/proc/self/environ' } },
  ],
};

describe('SkillPacks: typed tools, enforced by the executor', () => {
  for (const name of Object.keys(refusals)) {
    describe(name, () => {
      let served: Served;
      let client: SkillClient;
      beforeAll(async () => {
        served = await serve(name);
        client = served.client;
      });
      afterAll(() => served?.stop());

      it.each(refusals[name]!)('refuses $tool $input, naming $parameter', async ({ tool, input, parameter }) => {
        expect(await outcome(client, tool, input)).toBe(`refused:${parameter}`);
      });

      it.each(allowed[name]!)('lets $tool $input through to the tool', async ({ tool, input }) => {
        const result = await outcome(client, tool, input);
        expect(typeof result, `${tool} ${JSON.stringify(input)}`).toBe('number');
      });

      it('takes no free arguments: every tool is typed', async () => {
        const tools = (await client.list()).tools;
        expect(tools.every((t) => t.parameters !== undefined && t.freeArguments !== true)).toBe(true);
        const refused = await client.call(tools[0]!.name, ['--kubeconfig=/workspace/x']).then(() => undefined, (e: unknown) => e);
        expect(refused).toBeInstanceOf(ExecutorError);
        expect((refused as ExecutorError).code).toBe('args_not_accepted');
      });
    });
  }
});
