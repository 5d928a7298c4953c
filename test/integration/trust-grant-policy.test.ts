// The grant policy end to end: the ConfigMap skillpod-grant-policy that `make install` applies, the operator's
// grantable ClusterRole rendered from it, the operator (under its own ServiceAccount) watching it, and what
// happens when the SkillPack admission policy is missing or the ConfigMap is widened without a re-install.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrantPolicyData } from '../../operator/src/policy/configmap.ts';
import { grantableRules } from '../../operator/src/policy/grantable-role.ts';
import { celAllowlist } from '../../operator/src/policy/skillpack-admission.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, can, condition, createRun, deletePack, getRun, podOf, statusCode } from '../harness/kube.ts';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, startOperator, type TestOperator } from '../harness/operator.ts';
import { admission, core, GRANT_POLICY, OPERATOR_USER, patchGrantPolicy, rbac, refusedEventually, reinstall, unenforceGrantPolicy, userCan } from './trust-support.ts';

const custom = testCluster.kubeConfig().makeApiClient(CustomObjectsApi);
const SKILLPACKS = { group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks' };
const PACKS = ['gp-logs', 'gp-secrets', 'gp-scale'];
let operator: TestOperator;
let ns: string;

async function readyOf(name: string) {
  const pack = await custom.getClusterCustomObject({ ...SKILLPACKS, name }) as { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
  return pack.status?.conditions?.find((c) => c.type === 'Ready');
}
const runSA = async (name: string) => `system:serviceaccount:${ns}:${(await getRun(ns, name)).status?.serviceAccountName}`;

beforeAll(async () => {
  operator = await startOperator(); // no grantPolicy option: the operator reads the ConfigMap
  ns = await testCluster.createNamespace('trust-gp');
});
afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  for (const p of PACKS) await deletePack(p);
});

describe('the grant policy', () => {
  it('is what the operator holds and what the API server enforces: both rendered from the ConfigMap; no escalate, bind or impersonate', async () => {
    const policy = parseGrantPolicyData((await core.readNamespacedConfigMap(GRANT_POLICY)).data).policy;
    const role = await rbac.readClusterRole({ name: 'skillpod-operator-grantable' });
    expect(role.rules).toEqual(grantableRules(policy));
    // The SkillPack admission policy holds the same allowlist.
    const vap = await admission.readValidatingAdmissionPolicy({ name: 'skillpod-skillpack-grant-policy' });
    const live = (await core.readNamespacedConfigMap(GRANT_POLICY)).data;
    expect(vap.spec?.variables?.find((v) => v.name === 'allowed')?.expression).toBe(celAllowlist(live));
    const binding = await rbac.readClusterRoleBinding({ name: 'skillpod-operator-grantable' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: OPERATOR_SERVICE_ACCOUNT, namespace: OPERATOR_NAMESPACE }]);
    const rbacGroup = 'rbac.authorization.k8s.io';
    const never: Array<[string, { group?: string; resource: string; namespace?: string }]> = [
      ['escalate', { group: rbacGroup, resource: 'roles', namespace: ns }], ['escalate', { group: rbacGroup, resource: 'clusterroles' }],
      ['bind', { group: rbacGroup, resource: 'roles', namespace: ns }], ['bind', { group: rbacGroup, resource: 'clusterroles' }],
      ['impersonate', { resource: 'users' }], ['impersonate', { resource: 'serviceaccounts', namespace: ns }],
      ['get', { resource: 'secrets', namespace: ns }], ['create', { resource: 'pods/exec', namespace: ns }],
      ['create', { resource: 'serviceaccounts/token', namespace: ns }], ['use', { group: 'skillpod.io', resource: 'skillpacks' }],
      ['create', { group: 'apps', resource: 'deployments', namespace: ns }], ['update', { group: 'skillpod.io', resource: 'agentruns', namespace: ns }],
    ];
    const held = [];
    for (const [verb, attrs] of never) if (await userCan(OPERATOR_USER, verb, attrs)) held.push(`${verb} ${attrs.resource}`);
    expect(held).toEqual([]);
  });

  it('is enforced by the operator when the admission policy is missing: Ready=False naming the rule, and nothing granted', async () => {
    // The API server's check out of the way (as if its policy were missing): the operator's is what remains.
    const rebind = await unenforceGrantPolicy();
    try {
      await eventually(async () => expect(await statusCode(custom.createClusterCustomObject({ ...SKILLPACKS, body: {
        apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'gp-secrets' },
        spec: { description: 'reads secrets', image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }],
          rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] } },
      } }))).toBe(200));
    } finally {
      await rebind();
    }
    await eventually(async () => {
      expect(await readyOf('gp-secrets')).toMatchObject({ status: 'False', reason: 'OutsideGrantPolicy',
        message: 'spec.rbac.rules[1]: get, list on secrets is not in the grant policy' });
    });
    await createRun(ns, 'wants-secrets', { skills: [{ name: 'gp-secrets' }] });
    await eventually(async () => {
      const run = await getRun(ns, 'wants-secrets');
      expect(condition(run, 'SkillPacksReady')).toMatchObject({ status: 'False' });
      expect(condition(run, 'SkillPacksReady')?.message).toContain('OutsideGrantPolicy');
    });
    expect((await getRun(ns, 'wants-secrets')).status?.podName).toBeUndefined();
    expect((await rbac.listNamespacedRole({ namespace: ns })).items).toEqual([]);
    expect((await core.listNamespacedServiceAccount({ namespace: ns })).items.map((s) => s.metadata?.name)).toEqual(['default']);
  });

  it('is re-read when the ConfigMap changes: packs and the grants of running runs follow it; the default applies only while it is absent', async () => {
    await applyPack('gp-logs', { rbac: { rules: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] } });
    await eventually(async () => expect((await readyOf('gp-logs'))?.status).toBe('True'));
    await createRun(ns, 'reads-logs', { skills: [{ name: 'gp-logs' }] });
    await podOf(ns, 'reads-logs');
    const sa = await runSA('reads-logs');
    await eventually(async () => expect(await can(sa, 'get', 'pods/log', ns)).toBe(true));

    const undo = await patchGrantPolicy({ pods_log: null });
    try {
      await eventually(async () => expect(await readyOf('gp-logs')).toMatchObject({ status: 'False', reason: 'OutsideGrantPolicy',
        message: 'spec.rbac.rules[0]: get on pods/log is not in the grant policy' }));
      await eventually(async () => {
        expect(await can(sa, 'get', 'pods/log', ns)).toBe(false);
        expect((await getRun(ns, 'reads-logs')).status?.skills?.[0]).toMatchObject({ name: 'gp-logs', rbac: 'Revoked' });
      });
      // Without the ConfigMap the operator falls back to its built-in default, which allows pods/log.
      const saved = await core.readNamespacedConfigMap(GRANT_POLICY);
      await core.deleteNamespacedConfigMap(GRANT_POLICY);
      try {
        await eventually(async () => expect((await readyOf('gp-logs'))?.status).toBe('True'));
      } finally {
        await core.createNamespacedConfigMap({ namespace: GRANT_POLICY.namespace, body: { metadata: { name: GRANT_POLICY.name, labels: saved.metadata?.labels ?? {} }, data: saved.data ?? {} } });
      }
      await eventually(async () => expect((await readyOf('gp-logs'))?.status).toBe('False'));
    } finally {
      await undo();
    }
    await eventually(async () => expect((await readyOf('gp-logs'))?.status).toBe('True'));
    await eventually(async () => expect(await can(sa, 'get', 'pods/log', ns)).toBe(true));
  });

  it('widened in the ConfigMap, takes effect in the API server and in the operator\'s role together, at install', async () => {
    // A key the installed file does not have (install re-applies the file's own keys as the file says).
    const undo = await patchGrantPolicy({ 'deployments_scale.apps': 'get,update' });
    const scaler = { rbac: { rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] }] } };
    try {
      // Until then the API server refuses such packs, and the operator could not grant them anyway. (Eventually: a
      // file before this one may have left the policy's binding to be re-created, which takes a moment to apply.)
      await refusedEventually(() => applyPack('gp-scale', scaler), /asks for what the grant policy/);
      expect(await userCan(OPERATOR_USER, 'update', { group: 'apps', resource: 'deployments/scale', namespace: ns })).toBe(false);

      await reinstall();
      // (The authorizer, like admission, reads RBAC through informers: a moment after the write.)
      await eventually(async () => expect(await userCan(OPERATOR_USER, 'update', { group: 'apps', resource: 'deployments/scale', namespace: ns })).toBe(true));
      await eventually(async () => { await applyPack('gp-scale', scaler); });
      await eventually(async () => expect((await readyOf('gp-scale'))?.status).toBe('True'));
      await createRun(ns, 'scales', { skills: [{ name: 'gp-scale' }] });
      await podOf(ns, 'scales');
      const sa = await runSA('scales');
      await eventually(async () => expect(await can(sa, 'update', 'deployments/scale', ns, 'apps')).toBe(true));
    } finally {
      await undo();
      await reinstall();
    }
    await eventually(async () => expect(await userCan(OPERATOR_USER, 'update', { group: 'apps', resource: 'deployments/scale', namespace: ns })).toBe(false));
  });

  it('narrowed in agentEgress, holds a run whose agent egress it no longer allows, naming the rule', async () => {
    // The admission policy has the bound rendered in at install; the operator reads the ConfigMap at once, so a
    // narrowed bound reaches runs the API server still admits until the next install.
    await applyPack('gp-logs', { rbac: { rules: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] } });
    const undo = await patchGrantPolicy({ agentEgressPorts: '8443' });
    try {
      await createRun(ns, 'egress', { skills: [{ name: 'gp-logs' }], agent: { image: 'agent:test', egress: [{ ports: [{ port: 443 }], to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] } });
      const held = await eventually(async () => {
        const r = await getRun(ns, 'egress');
        expect(condition(r, 'Ready')).toMatchObject({ status: 'False', reason: 'AgentEgressNotAllowed' });
        return r;
      }, 15_000);
      expect(condition(held, 'Ready')?.message).toContain('443');
      expect(held.status?.podName).toBeUndefined();
    } finally {
      await undo();
    }
    // The bound back as it was: the run gets its pod.
    await podOf(ns, 'egress');
  });
});
