// Typed tools on the real API server: the CRD accepts the JSON Schema subset and the argument template, the SkillPack
// admission policy refuses templates that name undeclared parameters (and the other rules too costly for the CRD's
// CEL budget), and free-argument tools beside credentials are refused by the API server and kept not Ready by the
// operator, which also says on every pack whether it has free-argument tools.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { installSkillpod, startOperator, type TestOperator } from '../harness/operator.ts';
import { outcome, patchGrantPolicy, reinstall, unenforceGrantPolicy } from './trust-support.ts';

const custom = testCluster.kubeConfig().makeApiClient(CustomObjectsApi);
const api = { group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks' };
const created: string[] = [];
let operator: TestOperator | undefined;

const GET = {
  name: 'get',
  description: 'kubectl get, typed.',
  command: ['kubectl', 'get'],
  parameters: {
    type: 'object',
    properties: {
      resource: { type: 'string', enum: ['pods', 'services'], description: 'What to list.' },
      name: { type: 'string', pattern: '^[a-z0-9][-a-z0-9.]*$', maxLength: 253 },
      wide: { type: 'boolean' },
      labels: { type: 'array', items: { type: 'string', pattern: '^[a-z]+=[a-z0-9]+$' }, maxItems: 4 },
    },
    required: ['resource'],
  },
  args: [['{resource}'], ['{name}'], ['--output=wide', '{wide}'], ['--selector', '{labels}'], ['--output={.metadata.name}']],
};
const RBAC = { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] };

function body(name: string, spec: Record<string, unknown>, dryRun = true) {
  return { ...api, ...(dryRun ? { dryRun: 'All' } : {}), body: {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
    spec: { description: 'typed tools test', image: 'registry.k8s.io/kubectl:v1.36.3', tools: [GET], ...spec },
  } };
}
const tryPack = (name: string, spec: Record<string, unknown>) => outcome(custom.createClusterCustomObject(body(name, spec)));
const withTool = (change: (tool: typeof GET) => unknown) => {
  const tool = structuredClone(GET);
  change(tool);
  return { tools: [tool] };
};

async function conditions(name: string) {
  const pack = await custom.getClusterCustomObject({ ...api, name }) as { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
  return Object.fromEntries((pack.status?.conditions ?? []).map((c) => [c.type, c]));
}

beforeAll(async () => {
  await installSkillpod();
  await reinstall();
});
afterAll(async () => {
  await operator?.stop();
  for (const name of created) await custom.deleteClusterCustomObject({ ...api, name }).catch(() => undefined);
});

describe('the CRD and the SkillPack admission policy', () => {
  it('accept a typed tool beside RBAC: schema subset, template groups, literal braces that are no placeholder', async () => {
    expect(await tryPack('typed-ok', { rbac: RBAC })).toEqual({ code: 200, message: '' });
  });

  it.each([
    ['an undeclared placeholder', withTool((t) => t.args.push(['--namespace', '{namespace}'])), 'argument template: get: {namespace} is not a declared parameter'],
    ['a parameter no group uses', withTool((t) => Object.assign(t.parameters.properties, { extra: { type: 'string' } })), 'argument template: get: parameter extra is not used in args'],
    ['a boolean inside text', withTool((t) => (t.args[2] = ['--wide={wide}'])), 'argument template: get: boolean {wide} must be a whole element'],
    ['two arrays in one group', withTool((t) => { Object.assign(t.parameters.properties, { more: { type: 'array', items: { type: 'string' } } }); t.args[3] = ['--selector', '{labels}', '{more}']; }),
      'argument template: get: at most one array parameter per group'],
    ['a group of a boolean alone', withTool((t) => (t.args[2] = ['{wide}'])), 'argument template: get: a group of boolean placeholders only renders nothing'],
  ])('refuse %s, naming the tool and the problem', async (_what, spec, message) => {
    // The policy loads through the API server's informers a moment after the install: wait for its refusal.
    const result = await eventually(async () => {
      const o = await tryPack('typed-bad', spec);
      expect(o.code).toBe(422);
      return o;
    }, 15_000);
    expect(result.message).toContain(message);
  });

  it.each([
    ['a keyword outside the subset (format)', withTool((t) => Object.assign(t.parameters.properties.name, { format: 'hostname' })), 'unknown field "spec.tools[0].parameters.properties.name.format"'],
    ['enum on an integer', withTool((t) => Object.assign(t.parameters.properties, { n: { type: 'integer', enum: ['1'] } })), 'enum, pattern, minLength and maxLength apply to string parameters only'],
    ['argPolicy on a typed tool', withTool((t) => Object.assign(t, { argPolicy: { maxArgs: 3 } })), 'argPolicy applies to tools with freeArguments: true only'],
    ['freeArguments beside parameters', withTool((t) => Object.assign(t, { freeArguments: true })), 'a tool with freeArguments takes no parameters or args'],
  ])('the CRD refuses %s', async (_what, spec, message) => {
    const result = await outcome(custom.createClusterCustomObject({ ...body('typed-crd', spec), fieldValidation: 'Strict' }));
    expect(result.code).toBeOneOf([400, 422]); // an unknown field under Strict validation is a 400
    expect(result.message).toContain(message);
  });

  it('refuses free-argument tools in a pack that holds RBAC rules or a Secret, unless the grant policy allows it', async () => {
    const free = { name: 'raw', command: ['kubectl'], freeArguments: true, argPolicy: { parser: 'pflag', allowedFlags: [{ flag: '--output', value: 'name' }] } };
    const withRBAC = await tryPack('free-rbac', { tools: [GET, free], rbac: RBAC });
    expect(withRBAC.code).toBe(403);
    expect(withRBAC.message).toContain('tools raw take free arguments');
    const withSecret = await tryPack('free-secret', { tools: [free], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'token' } } }] });
    expect(withSecret.message).toContain('tools raw take free arguments');
    // Without credentials, free arguments are the pack author's choice.
    expect((await tryPack('free-plain', { tools: [free] })).code).toBe(200);

    // The install-time setting opens it (re-rendered into the policy by make install, as every grant-policy change).
    const undo = await patchGrantPolicy({ freeArgumentsWithCredentials: 'true' });
    try {
      await reinstall();
      await eventually(async () => expect((await tryPack('free-rbac', { tools: [GET, free], rbac: RBAC })).code).toBe(200), 15_000);
    } finally {
      await undo();
      await reinstall();
    }
    await eventually(async () => expect((await tryPack('free-rbac', { tools: [GET, free], rbac: RBAC })).code).toBe(403), 15_000);
  });
});

describe('the operator', () => {
  beforeAll(async () => {
    operator = await startOperator();
  });

  it('says on every pack whether it has free-argument tools, and keeps one beside credentials not Ready', async () => {
    const free = { name: 'raw', command: ['kubectl'], freeArguments: true };
    // A pack written while the admission policy only audited (or before it existed) still meets the operator's check.
    const enforce = await unenforceGrantPolicy();
    try {
      await custom.createClusterCustomObject(body('free-beside-rbac', { tools: [GET, free], rbac: RBAC }, false));
      created.push('free-beside-rbac');
    } finally {
      await enforce();
    }
    await custom.createClusterCustomObject(body('typed-only', { rbac: RBAC }, false));
    created.push('typed-only');

    await eventually(async () => {
      const c = await conditions('free-beside-rbac');
      expect(c.Ready).toMatchObject({ status: 'False', reason: 'FreeArgumentsWithCredentials' });
      expect(c.Ready?.message).toContain('spec.tools[1] (raw): free arguments are not allowed in a pack that holds RBAC rules');
      expect(c.FreeArguments).toMatchObject({ status: 'True', reason: 'FreeArgumentTools' });
      expect(c.FreeArguments?.message).toContain('free arguments in raw');
    });
    await eventually(async () => {
      const c = await conditions('typed-only');
      expect(c.Ready).toMatchObject({ status: 'True', reason: 'Valid' });
      expect(c.FreeArguments).toMatchObject({ status: 'False', reason: 'TypedToolsOnly' });
    });
  });
});
