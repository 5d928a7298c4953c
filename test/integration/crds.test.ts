// The generated CRDs on a real kube-apiserver: they install (structural, CEL rules compile within the cost
// budget), refuse exactly what parse() refuses with readable messages, default what the brief says, keep the
// immutable fields immutable, and work with kubectl (explain, short names, category, printer columns).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api, ApiException, ApiextensionsV1Api, CustomObjectsApi, KubernetesObjectApi, loadAllYaml, PatchStrategy, type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION } from '../../operator/src/api/constants.ts';
import { INVALID_CASES, minimalAgentRun, minimalSkillPack, validAgentRun, validSkillPack } from '../../operator/src/api/testdata/fixtures.ts';
import { waitForCrds } from '../../operator/src/install/apply.ts';
import { eventually } from '../harness/eventually.ts';
import { testCluster } from '../harness/context.ts';
import { kubectlOk } from '../harness/kubectl.ts';

const root = join(import.meta.dirname, '..', '..');
const kc = testCluster.kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const runs = { group: GROUP, version: VERSION, plural: 'agentruns' };
const packs = { group: GROUP, version: VERSION, plural: 'skillpacks' };
let ns: string;
const createdPacks = new Set<string>();

type Obj = Record<string, unknown>;

/** The API server's message for a refused request; fails the test if the request was accepted. */
async function refusal(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    if (err instanceof ApiException) {
      expect(err.code).toBe(422);
      return (JSON.parse(String(err.body)) as { message: string }).message;
    }
    throw err;
  }
  throw new Error('the API server accepted the object');
}

function nameOf(obj: Obj): string {
  return (obj.metadata as { name: string }).name;
}

async function create(kind: 'AgentRun' | 'SkillPack', body: Obj): Promise<Obj> {
  if (kind === 'AgentRun') {
    body.metadata = { ...(body.metadata as Obj), namespace: ns };
    return (await custom.createNamespacedCustomObject({ ...runs, namespace: ns, body })) as Obj;
  }
  createdPacks.add(nameOf(body));
  return (await custom.createClusterCustomObject({ ...packs, body })) as Obj;
}

async function remove(kind: 'AgentRun' | 'SkillPack', name: string): Promise<void> {
  if (kind === 'AgentRun') await custom.deleteNamespacedCustomObject({ ...runs, namespace: ns, name });
  else await custom.deleteClusterCustomObject({ ...packs, name });
}

/**
 * Server-side apply of crds/*.yaml. The objects go through client-node's loadAllYaml: KubernetesObjectApi
 * serializes a CRD through its typed model, which silently drops keys given in their JSON spelling
 * (`default`, `x-kubernetes-validations`) unless the object was deserialized into that model first.
 */
async function applyCRDs(): Promise<string[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const names: string[] = [];
  for (const file of (await readdir(join(root, 'crds'))).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const crd of loadAllYaml(await readFile(join(root, 'crds', file), 'utf8')) as KubernetesObject[]) {
      await client.patch(crd, undefined, undefined, 'skillpod-crds-test', true, PatchStrategy.ServerSideApply);
      names.push(crd.metadata?.name ?? '');
    }
  }
  return names;
}

beforeAll(async () => {
  await waitForCrds(kc, await applyCRDs());
  // This file tests the CRD schemas alone. Another file may have installed Skillpod's admission policies, whose
  // grant policy would refuse the fixtures' RBAC first; files that need them install them again.
  for (const name of ['skillpod-skillpack-grant-policy', 'skillpod-agentrun-egress']) {
    await kc.makeApiClient(AdmissionregistrationV1Api).deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
  }
  // The API server drops the binding from its admission cache a moment later: wait until a pack it would refuse passes.
  const custom = kc.makeApiClient(CustomObjectsApi);
  await eventually(() => custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'skillpacks', dryRun: 'All', body: {
    ...minimalSkillPack(), metadata: { name: 'crds-binding-gone' },
    spec: { ...(minimalSkillPack().spec as Record<string, unknown>), rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } },
  } }));
  ns = await testCluster.createNamespace('crds');
  // The same for the agent egress bound, which would refuse the fixture's selector and port range.
  await eventually(() => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'agentruns', namespace: ns, dryRun: 'All',
    body: { ...validAgentRun(), metadata: { name: 'crds-egress-binding-gone' } } }));
});

afterAll(async () => {
  for (const name of createdPacks) await remove('SkillPack', name).catch(() => undefined);
  await testCluster.deleteNamespace(ns);
});

describe('the CRDs', () => {
  it.each(['agentruns.skillpod.io', 'skillpacks.skillpod.io'])('%s is established and structural, rules and defaults intact', async (name) => {
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
    const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(conditions.NonStructuralSchema).toBeUndefined();
    const schema = crd.spec.versions[0]?.schema?.openAPIV3Schema;
    expect(schema?.x_kubernetes_validations?.length).toBe(1);
  });
});

describe('valid objects are accepted and defaulted by the schema', () => {
  it('AgentRun: timeoutSeconds 600, skills enabled, protocol TCP', async () => {
    const created = await create('AgentRun', { ...validAgentRun(), metadata: { name: 'defaults' } });
    const spec = created.spec as { timeoutSeconds: number; skills: { name: string; enabled: boolean }[]; agent: { egress: { ports: { protocol: string }[] }[] } };
    expect(spec.timeoutSeconds).toBe(600);
    expect(spec.skills).toEqual([
      { name: 'kubectl', enabled: true },
      { name: 'git', enabled: false },
    ]);
    expect(spec.agent.egress[0]?.ports[0]?.protocol).toBe('TCP');
    await remove('AgentRun', 'defaults');
  });

  it('a minimal AgentRun', async () => {
    await create('AgentRun', minimalAgentRun());
    await remove('AgentRun', 'minimal');
  });

  it('SkillPack: tool timeoutSeconds 60', async () => {
    const created = await create('SkillPack', { ...validSkillPack(), metadata: { name: 'crds-defaults' } });
    const tools = (created.spec as { tools: { name: string; timeoutSeconds: number }[] }).tools;
    expect(tools.map((t) => t.timeoutSeconds)).toEqual([120, 60, 60]);
    await create('SkillPack', { ...minimalSkillPack(), metadata: { name: 'crds-minimal' } });
  });
});

describe('invalid objects are refused with the same field and message as parse()', () => {
  const fixtures = { AgentRun: validAgentRun, SkillPack: validSkillPack } as const;

  it.each(INVALID_CASES.filter((c) => c.server !== undefined).map((c) => [c.kind, c.name, c] as const))('%s: %s', async (kind, _name, c) => {
    const obj = fixtures[kind]();
    c.change(obj);
    const message = await refusal(create(kind, obj));
    expect(message).toContain(c.server);
  });

  it.each(INVALID_CASES.filter((c) => c.serverAccepts !== undefined).map((c) => [c.kind, c.name, c] as const))(
    '%s: %s is left to the operator',
    async (kind, _name, c) => {
      const obj = fixtures[kind]();
      c.change(obj);
      (obj.metadata as Obj).name = `accepted-${INVALID_CASES.indexOf(c)}`;
      await create(kind, obj);
      await remove(kind, nameOf(obj));
    },
  );
});

describe('immutable fields (transition rules)', () => {
  const patch = (name: string, ops: Obj[]) => custom.patchNamespacedCustomObject({ ...runs, namespace: ns, name, body: ops });

  beforeAll(async () => {
    await create('AgentRun', { ...validAgentRun(), metadata: { name: 'immutable' } });
    await create('AgentRun', { ...minimalAgentRun(), metadata: { name: 'no-agent' } });
  });

  it.each([
    ['task', 'immutable', [{ op: 'replace', path: '/spec/task', value: 'Something else.' }], 'task is immutable'],
    ['timeoutSeconds', 'immutable', [{ op: 'replace', path: '/spec/timeoutSeconds', value: 60 }], 'timeoutSeconds is immutable'],
    ['agent.image', 'immutable', [{ op: 'replace', path: '/spec/agent/image', value: 'other:1' }], 'agent is immutable'],
    ['agent removed', 'immutable', [{ op: 'remove', path: '/spec/agent' }], 'agent is immutable'],
    ['agent added', 'no-agent', [{ op: 'add', path: '/spec/agent', value: { image: 'other:1' } }], 'agent is immutable'],
  ])('%s cannot change', async (_field, name, ops, message) => {
    expect(await refusal(patch(name, ops))).toContain(message);
  });

  it('skills can be switched off and on, and the TTL changed', async () => {
    await patch('immutable', [
      { op: 'replace', path: '/spec/skills/0/enabled', value: false },
      { op: 'replace', path: '/spec/ttlSecondsAfterFinished', value: 60 },
    ]);
    const got = (await custom.getNamespacedCustomObject({ ...runs, namespace: ns, name: 'immutable' })) as { spec: { skills: { enabled: boolean }[] } };
    expect(got.spec.skills[0]?.enabled).toBe(false);
  });
});

describe('status subresource', () => {
  const status = (body: Obj[]) => custom.patchNamespacedCustomObjectStatus({ ...runs, namespace: ns, name: 'status', body });

  beforeAll(async () => {
    await create('AgentRun', { ...minimalAgentRun(), metadata: { name: 'status' } });
  });

  it('accepts a valid status and refuses an invalid phase', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await status([
      {
        op: 'add',
        path: '/status',
        value: {
          phase: 'Running',
          podName: 'status-abcde',
          startTime: now,
          skillsReady: '0/0',
          conditions: [{ type: 'Ready', status: 'True', reason: 'PodRunning', message: '', lastTransitionTime: now, observedGeneration: 1 }],
          skills: [{ name: 'git', enabled: true, ready: false, rbac: 'None' }],
        },
      },
    ]);
    expect(await refusal(status([{ op: 'replace', path: '/status/phase', value: 'Done' }]))).toContain('status.phase');
  });

  it('status.phase is a field selector', async () => {
    const list = (await custom.listNamespacedCustomObject({ ...runs, namespace: ns, fieldSelector: 'status.phase=Running' })) as { items: Obj[] };
    expect(list.items.map(nameOf)).toEqual(['status']);
  });
});

describe('kubectl', () => {
  it('explains every field of agentrun.spec', async () => {
    const out = await eventually(() => kubectlOk(['explain', 'agentrun.spec']));
    for (const field of ['task', 'agent', 'skills', 'timeoutSeconds', 'ttlSecondsAfterFinished', 'imagePullSecrets', 'nodeSelector', 'tolerations', 'runtimeClassName', 'podLabels', 'podAnnotations']) {
      expect(out).toContain(field);
    }
    expect(out).toContain('What the agent should do');
  });

  it('explains agentrun.spec.skills', async () => {
    const out = await eventually(() => kubectlOk(['explain', 'agentrun.spec.skills']));
    expect(out).toContain('enabled');
    expect(out).toContain('Name of a SkillPack');
  });

  it('explains typed tools (skillpack.spec.tools.parameters and args)', async () => {
    const args = await eventually(() => kubectlOk(['explain', 'skillpack.spec.tools.args']));
    expect(args).toContain('Argument template of a typed tool');
    const parameter = await kubectlOk(['explain', 'skillpack.spec.tools.parameters.properties']);
    expect(parameter).toContain('The parameters by name');
    expect(await kubectlOk(['explain', 'skillpack.spec.tools.argPolicy.allowedFlags'])).toContain('Allowlist of flags');
  });

  it('lists by short name and category, with the printer columns', async () => {
    const ar = await kubectlOk(['get', 'ar', '-n', ns]);
    expect(ar.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+SKILLS\s+POD\s+AGE/);
    expect(ar).toMatch(/status\s+Running\s+0\/0\s+status-abcde/);
    const skp = await kubectlOk(['get', 'skp']);
    expect(skp.split('\n')[0]).toMatch(/^NAME\s+READY\s+REASON\s+AGE/);
    const all = await kubectlOk(['get', 'skillpod', '-A']);
    expect(all).toContain('agentrun.skillpod.io/status');
    expect(all).toContain('skillpack.skillpod.io/crds-minimal');
  });
});
