// The API server's own checks (helm/skillpod/files/admission-*.yaml, user-roles.yaml), with real identities:
// a cluster admin that is not system:masters writes SkillPacks, a client-certificate user `jane` writes AgentRuns.
// No operator runs here: everything below is refused or allowed by the API server alone.
import { CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEgressViolations, type AgentEgressRule } from '../../operator/src/policy/agent-egress.ts';
import { parseGrantPolicyData } from '../../operator/src/policy/configmap.ts';
import { packViolations, type RequestedRule } from '../../operator/src/policy/grant-policy.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, deletePack, getRun, statusCode } from '../harness/kube.ts';
import { kubectl } from '../harness/kubectl.ts';
import { installSkillpod } from '../harness/operator.ts';
import {
  bindInNamespace, clusterAdmin, core, GRANT_POLICY, gone, outcome, patchGrantPolicy, rbac, refusedEventually, reinstall, useRole, user, userCan,
} from './trust-support.ts';

const GROUP = { group: 'skillpod.io', version: 'v1alpha1' };
const JANE = 'trust-jane';
const PACKS = ['trust-adm-a', 'trust-adm-b', 'trust-adm-c'] as const;
let adminKc: KubeConfig;
let jane: KubeConfig;
let nsA: string;
let nsB: string;

type RBAC = { rules?: RequestedRule[]; clusterRules?: RequestedRule[] };
const packBody = (name: string, rbac?: RBAC) => ({ apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
  spec: { description: 'trust test pack', image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }], ...(rbac ? { rbac } : {}) } });

function createPackAs(kc: KubeConfig, name: string, rbac?: RBAC, dryRun = true) {
  return kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({ ...GROUP, plural: 'skillpacks', body: packBody(name, rbac), ...(dryRun ? { dryRun: 'All' } : {}) });
}

function runBody(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name }, spec: { task: 'look around', agent: { image: 'agent:test' }, ...spec } };
}
function createRunAs(kc: KubeConfig, namespace: string, name: string, spec: Record<string, unknown>, dryRun = false) {
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, body: runBody(name, spec), ...(dryRun ? { dryRun: 'All' } : {}) });
}
function patchRunAs(kc: KubeConfig, namespace: string, name: string, ops: object[]) {
  return kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, name, body: ops });
}

beforeAll(async () => {
  await installSkillpod();
  adminKc = await clusterAdmin('trust-admin');
  jane = await user(JANE);
  nsA = await testCluster.createNamespace('trust-a');
  nsB = await testCluster.createNamespace('trust-b');
  for (const ns of [nsA, nsB]) await bindInNamespace(ns, 'skillpod:agentrun-editor', JANE);
  for (const p of PACKS) await applyPack(p);
});
afterAll(async () => {
  await testCluster.deleteNamespace(nsA);
  await testCluster.deleteNamespace(nsB);
  for (const p of PACKS) await deletePack(p);
  for (const p of PACKS) await gone(rbac.deleteClusterRole({ name: `skillpod:use:${p}` }));
  await gone(rbac.deleteClusterRoleBinding({ name: `trust-use-${PACKS[1]}` }));
  await gone(rbac.deleteClusterRoleBinding({ name: 'trust-trust-admin' }));
  await gone(rbac.deleteClusterRoleBinding({ name: 'trust-toggle-use' }));
});

describe('the SkillPack admission policy (the grant policy, rendered into it at install)', () => {
  const cases: Array<{ name: string; rbac: RBAC }> = [
    { name: 'within the default policy', rbac: { rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }] } },
    { name: 'narrowed by resourceNames', rbac: { rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web'] }] } },
    { name: 'several groups at once', rbac: { rules: [{ apiGroups: ['apps', 'batch'], resources: ['deployments', 'jobs'], verbs: ['list'] }] } },
    { name: 'a write verb', rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] }] } },
    { name: 'the second rule outside', rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] }] } },
    { name: 'secrets', rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } },
    { name: 'pods/exec', rbac: { rules: [{ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] }] } },
    { name: 'serviceaccounts/token', rbac: { rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }] } },
    { name: 'escalate', rbac: { rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }] } },
    { name: 'every verb', rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] } },
    { name: 'every resource', rbac: { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }] } },
    { name: 'every group', rbac: { rules: [{ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }] } },
    { name: 'a cluster rule', rbac: { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] } },
    { name: 'a non-resource URL', rbac: { clusterRules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] } },
  ];

  it('refuses exactly the packs the operator would refuse, naming the first rule outside', async () => {
    const policy = parseGrantPolicyData((await core.readNamespacedConfigMap(GRANT_POLICY)).data).policy;
    // The policy loads through an informer: wait until a known refusal is in force.
    await refusedEventually(() => createPackAs(adminKc, 'trust-probe', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }), /grant policy/);
    const disagreements: string[] = [];
    for (const { name, rbac: packRbac } of cases) {
      const violations = packViolations(packRbac, policy);
      const { code, message } = await outcome(createPackAs(adminKc, 'trust-table', packRbac));
      const firstPath = violations[0]?.split(':')[0] ?? '';
      const agrees = violations.length === 0 ? code === 200 : code === 403 && message.includes(`${firstPath} asks for what the grant policy`);
      if (!agrees) disagreements.push(`${name}: operator says ${JSON.stringify(violations)}, API server ${code} ${message}`);
    }
    expect(disagreements).toEqual([]);
    // Both verdicts occurred, so the table means something.
    expect(cases.filter((c) => packViolations(c.rbac, policy).length === 0).length).toBeGreaterThan(1);
  });

  it('names what is refused: the rule and each verb on each resource outside the policy', async () => {
    const { code, message } = await outcome(createPackAs(adminKc, 'trust-msg', {
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: ['', 'apps'], resources: ['pods', 'deployments'], verbs: ['list', 'delete'] }],
    }));
    expect(code).toBe(403);
    expect(message).toContain('spec.rbac.rules[1] asks for what the grant policy (ConfigMap skillpod-system/skillpod-grant-policy, as installed) does not allow: ' +
      'delete on pods, list on deployments, delete on deployments, list on pods.apps, delete on pods.apps, delete on deployments.apps');
  });

  it('follows the grant policy as installed: a cluster rule it lists is accepted; install refuses never-grantable entries', async () => {
    const undo = await patchGrantPolicy({ cluster_nodes: 'get,list' });
    try {
      await reinstall();
      await eventually(async () => expect((await outcome(createPackAs(adminKc, 'trust-nodes', { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] }))).code).toBe(200));
      expect((await outcome(createPackAs(adminKc, 'trust-nodes', { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['delete'] }] }))).message)
        .toContain('spec.rbac.clusterRules[0] asks for what the grant policy');
      // A namespaced rule on nodes is not the cluster rule the policy allows.
      expect((await outcome(createPackAs(adminKc, 'trust-nodes', { rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] }))).code).toBe(403);
      // Whatever the ConfigMap says, never-grantable entries fail the install, and change nothing.
      // (A key the shipped file does not hold: install re-applies the file's own keys as the file says.)
      const undoEscalate = await patchGrantPolicy({ secrets: 'escalate' });
      try {
        await expect(reinstall()).rejects.toThrow("secrets: verb 'escalate' is never grantable");
        expect((await outcome(createPackAs(adminKc, 'trust-esc', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['escalate'] }] }))).code).toBe(403);
      } finally {
        await undoEscalate();
      }
    } finally {
      await undo();
      await reinstall();
    }
    await refusedEventually(() => createPackAs(adminKc, 'trust-nodes', { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] }), /grant policy/);
  });

  it('judges an update only when spec.rbac changes, so a pack the policy was narrowed to exclude stays editable', async () => {
    const custom = adminKc.makeApiClient(CustomObjectsApi);
    const patchRbac = { rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] }] };
    // (A key the shipped file does not hold: install re-applies the file's own keys as the file says.)
    const undo = await patchGrantPolicy({ 'deployments_scale.apps': 'get,patch' });
    try {
      await reinstall();
      await eventually(async () => expect((await outcome(createPackAs(adminKc, 'trust-ratchet', patchRbac, false))).code).toBe(200));
    } finally {
      await undo();
      await reinstall();
    }
    try {
      const patch = (ops: object[]) => outcome(custom.patchClusterCustomObject({ ...GROUP, plural: 'skillpacks', name: 'trust-ratchet', body: ops }));
      await refusedEventually(() => createPackAs(adminKc, 'trust-ratchet-2', patchRbac), /grant policy/);
      expect(await patch([{ op: 'add', path: '/metadata/labels', value: { team: 'a' } }])).toEqual({ code: 200, message: '' });
      expect(await patch([{ op: 'replace', path: '/spec/description', value: 'edited' }])).toEqual({ code: 200, message: '' });
      expect((await patch([{ op: 'add', path: '/spec/rbac/rules/0/verbs/-', value: 'get' }])).code).toBe(403);
      expect(await patch([{ op: 'replace', path: '/spec/rbac/rules/0', value: { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] } }])).toEqual({ code: 200, message: '' });
    } finally {
      await deletePack('trust-ratchet');
    }
  });
});

describe('the AgentRun admission policy: use on each pack, get on each Secret and ConfigMap', () => {
  it('refuses a run naming a pack its creator may not use; a RoleBinding or a Role grants use only for packs the grant policy names in namespacedUse', async () => {
    const [a] = PACKS;
    const refused = await refusedEventually(() => createRunAs(jane, nsA, 'no-use', { skills: [{ name: a }] }), /needs the verb use/);
    expect(refused).toContain(`${JANE} needs the verb use on SkillPack ${a} (cluster-wide: a ClusterRoleBinding) to run it or switch it on`);
    expect(await statusCode(getRun(nsA, 'no-use'))).toBe(404);

    // A RoleBinding of the pack's use-role in the team's namespace, and a Role of that namespace granting use: the
    // authorizer says yes in nsA, the admission policy asks cluster-scoped and refuses.
    await bindInNamespace(nsA, await useRole(a), JANE);
    await rbac.createNamespacedRole({ namespace: nsA, body: { metadata: { name: 'use-in-a' },
      rules: [{ apiGroups: ['skillpod.io'], resources: ['skillpacks'], resourceNames: [PACKS[2]], verbs: ['use'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: nsA, body: { metadata: { name: 'use-in-a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'use-in-a' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: JANE }] } });
    await eventually(async () => expect(await userCan(JANE, 'use', { group: 'skillpod.io', resource: 'skillpacks', name: PACKS[2], namespace: nsA })).toBe(true));
    expect(await userCan(JANE, 'use', { group: 'skillpod.io', resource: 'skillpacks', name: a, namespace: nsA })).toBe(true);
    for (const pack of [a, PACKS[2]]) {
      const { code, message } = await outcome(createRunAs(jane, nsA, 'ns-use', { skills: [{ name: pack }] }));
      expect([code, message.includes(`needs the verb use on SkillPack ${pack} (cluster-wide: a ClusterRoleBinding)`)]).toEqual([403, true]);
    }

    // Opted in by the grant policy (namespacedUse, rendered into the policy at install): the RoleBinding counts, there only.
    const undo = await patchGrantPolicy({ namespacedUse: `${a},${PACKS[2]}` });
    try {
      await reinstall();
      await eventually(async () => expect((await outcome(createRunAs(jane, nsA, 'with-use', { skills: [{ name: a }] }))).code).toBe(200));
      expect((await outcome(createRunAs(jane, nsA, 'with-role', { skills: [{ name: PACKS[2] }] }))).code).toBe(200);
      const inB = await outcome(createRunAs(jane, nsB, 'with-use', { skills: [{ name: a }] }));
      expect([inB.code, inB.message.includes(`needs the verb use on SkillPack ${a} in namespace ${nsB}`)]).toEqual([403, true]);
      // The check docs/security.md tells admins to make for such packs, with the server's own kubectl.
      const canA = await kubectl(['auth', 'can-i', 'use', `skillpacks.skillpod.io/${a}`, '-n', nsA, `--as=${JANE}`]);
      const canB = await kubectl(['auth', 'can-i', 'use', `skillpacks.skillpod.io/${a}`, '-n', nsB, `--as=${JANE}`]);
      expect([canA.stdout.trim(), canB.stdout.trim()]).toEqual(['yes', 'no']);
    } finally {
      await undo();
      await reinstall();
      await rbac.deleteNamespacedRoleBinding({ namespace: nsA, name: 'use-in-a' });
      await rbac.deleteNamespacedRole({ namespace: nsA, name: 'use-in-a' });
    }
    await refusedEventually(() => createRunAs(jane, nsA, 'after-opt-out', { skills: [{ name: a }] }), /cluster-wide: a ClusterRoleBinding/);
    // Cluster-wide, as the admin would check it for every other pack: no.
    const cluster = await kubectl(['auth', 'can-i', 'use', `skillpacks.skillpod.io/${a}`, `--as=${JANE}`]);
    expect(cluster.stdout.trim()).toBe('no');
  });

  it('refuses a namespace owner holding a wildcard role there (a RoleBinding to cluster-admin), and anyone such an owner grants use', async () => {
    const [a] = PACKS;
    const owner = 'trust-owner';
    const ownerKc = await user(owner);
    await bindInNamespace(nsA, 'cluster-admin', owner);
    await eventually(async () => expect(await userCan(owner, 'use', { group: 'skillpod.io', resource: 'skillpacks', name: a, namespace: nsA })).toBe(true));
    const { code, message } = await outcome(createRunAs(ownerKc, nsA, 'owner-run', { skills: [{ name: a }] }));
    expect([code, message.includes(`${owner} needs the verb use on SkillPack ${a} (cluster-wide: a ClusterRoleBinding)`)]).toEqual([403, true]);
    // The owner may write a Role granting use in the namespace and bind it to someone else: still no run.
    const ownerRbac = ownerKc.makeApiClient(RbacAuthorizationV1Api);
    await ownerRbac.createNamespacedRole({ namespace: nsA, body: { metadata: { name: 'owner-use' }, rules: [{ apiGroups: ['skillpod.io'], resources: ['skillpacks'], verbs: ['use'] }] } });
    await ownerRbac.createNamespacedRoleBinding({ namespace: nsA, body: { metadata: { name: 'owner-use' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'owner-use' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'trust-proxy' }] } });
    await bindInNamespace(nsA, 'skillpod:agentrun-editor', 'trust-proxy');
    const proxy = await user('trust-proxy');
    await eventually(async () => expect(await userCan('trust-proxy', 'use', { group: 'skillpod.io', resource: 'skillpacks', name: a, namespace: nsA })).toBe(true));
    const viaProxy = await outcome(createRunAs(proxy, nsA, 'proxy-run', { skills: [{ name: a }] }));
    expect([viaProxy.code, viaProxy.message.includes('(cluster-wide: a ClusterRoleBinding)')]).toEqual([403, true]);
  });

  it('accepts use from a ClusterRoleBinding in every namespace, and needs it for every pack named', async () => {
    const [a, b] = PACKS;
    await rbac.createClusterRoleBinding({ body: { metadata: { name: `trust-use-${b}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: await useRole(b) },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: JANE }] } });
    await eventually(async () => expect((await outcome(createRunAs(jane, nsB, 'b-only', { skills: [{ name: b }] }))).code).toBe(200));
    const both = await outcome(createRunAs(jane, nsB, 'a-and-b', { skills: [{ name: a }, { name: b }] }));
    expect(both.code).toBe(403);
    expect(both.message).toContain(`needs the verb use on SkillPack ${a} (cluster-wide: a ClusterRoleBinding)`);
    expect(both.message).not.toContain(b);
  });

  it('never refuses switching a skill off; switching on or adding an enabled skill needs use now', async () => {
    const [a, , c] = PACKS;
    const grant = async () => rbac.createClusterRoleBinding({ body: { metadata: { name: 'trust-toggle-use' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: await useRole(a) },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: JANE }] } });
    await grant();
    await eventually(async () => expect((await outcome(createRunAs(jane, nsA, 'toggles', { skills: [{ name: a }] }))).code).toBe(200));
    await rbac.deleteClusterRoleBinding({ name: 'trust-toggle-use' });

    expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'replace', path: '/spec/skills/0/enabled', value: false }]))).code).toBe(200);
    const on = await refusedEventually(() => patchRunAs(jane, nsA, 'toggles', [{ op: 'replace', path: '/spec/skills/0/enabled', value: true }]), /needs the verb use/);
    expect(on).toContain(`needs the verb use on SkillPack ${a}`);
    // A skill added switched off passes; switching it on is the moment its use is checked.
    expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'add', path: '/spec/skills/-', value: { name: c, enabled: false } }]))).code).toBe(200);
    expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'replace', path: '/spec/skills/1/enabled', value: true }]))).code).toBe(403);
    expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'add', path: '/spec/skills/-', value: { name: 'trust-adm-unknown' } }]))).code).toBe(403);
    // Edits that enable nothing new are not judged.
    expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'add', path: '/metadata/labels', value: { team: 'a' } }]))).code).toBe(200);

    await grant();
    try {
      await eventually(async () => expect((await outcome(patchRunAs(jane, nsA, 'toggles', [{ op: 'replace', path: '/spec/skills/0/enabled', value: true }]))).code).toBe(200));
    } finally {
      await rbac.deleteClusterRoleBinding({ name: 'trust-toggle-use' });
    }
  });

  it('refuses a run referencing a Secret or ConfigMap its creator may not read, in env or imagePullSecrets', async () => {
    const secretEnv = { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] };
    const configEnv = { env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }] };
    const attempts = {
      env: () => createRunAs(jane, nsA, 'secret-env', { agent: { image: 'agent:test', ...secretEnv } }),
      pull: () => createRunAs(jane, nsA, 'secret-pull', { imagePullSecrets: [{ name: 'registry' }] }),
      config: () => createRunAs(jane, nsA, 'config-env', { agent: { image: 'agent:test', ...configEnv } }),
    };
    expect((await outcome(attempts.env())).message).toContain(`${JANE} needs get on Secret db in namespace ${nsA}`);
    expect((await outcome(attempts.pull())).message).toContain(`${JANE} needs get on Secret registry in namespace ${nsA}`);
    expect((await outcome(attempts.config())).message).toContain(`${JANE} needs get on ConfigMap settings in namespace ${nsA}`);
    // Nothing was created, so nothing could carry the values into a pod or a result.
    for (const name of ['secret-env', 'secret-pull', 'config-env']) expect(await statusCode(getRun(nsA, name))).toBe(404);
    expect((await clients().core.listNamespacedPod({ namespace: nsA })).items).toEqual([]);

    // With get on exactly those names, the same runs are accepted.
    await rbac.createNamespacedRole({ namespace: nsA, body: { metadata: { name: 'read-run-inputs' }, rules: [
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['db', 'registry'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'], verbs: ['get'] },
    ] } });
    await rbac.createNamespacedRoleBinding({ namespace: nsA, body: { metadata: { name: 'read-run-inputs' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-run-inputs' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: JANE }] } });
    for (const attempt of Object.values(attempts)) await eventually(async () => expect((await outcome(attempt())).code).toBe(200));
    // A pull secret added later is judged too.
    const added = await outcome(patchRunAs(jane, nsA, 'secret-pull', [{ op: 'add', path: '/spec/imagePullSecrets/-', value: { name: 'other-registry' } }]));
    expect(added.message).toContain('needs get on Secret other-registry');
  });
});

describe('the agent egress bound (grant policy agentEgress, rendered into skillpod-agentrun-egress at install)', () => {
  const https = [{ protocol: 'TCP', port: 443 }];
  const cases: Array<{ name: string; egress: AgentEgressRule[] }> = [
    { name: 'everywhere on 443', egress: [{ ports: https }] },
    { name: 'a block on 443', egress: [{ ports: https, to: [{ ipBlock: { cidr: '10.1.0.0/16' } }] }] },
    { name: 'a public block on 443 and 8443', egress: [{ ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 8443 }], to: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }] },
    { name: 'every port', egress: [{ to: [{ ipBlock: { cidr: '10.1.0.0/16' } }] }] },
    { name: 'ssh', egress: [{ ports: [{ protocol: 'TCP', port: 22 }], to: [{ ipBlock: { cidr: '10.1.0.0/16' } }] }] },
    { name: 'a port range', egress: [{ ports: [{ protocol: 'TCP', port: 440, endPort: 450 }] }] },
    { name: 'a named port', egress: [{ ports: [{ protocol: 'TCP', port: 'https' }] }] },
    { name: 'every namespace', egress: [{ ports: https, to: [{ namespaceSelector: {} }] }] },
    { name: 'pods of the namespace, second rule', egress: [{ ports: https }, { ports: https, to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] },
    { name: 'IPv6', egress: [{ ports: https, to: [{ ipBlock: { cidr: '2001:db8::/32' } }] }] },
  ];
  const tryRun = (egress: AgentEgressRule[]) => createRunAs(adminKc, nsA, 'egress', { agent: { image: 'agent:test', egress } }, true);

  async function agreeWithOperator(): Promise<{ refused: number; accepted: number }> {
    const { settings } = parseGrantPolicyData((await core.readNamespacedConfigMap(GRANT_POLICY)).data).policy;
    const disagreements: string[] = [];
    let refused = 0;
    for (const { name, egress } of cases) {
      const violations = agentEgressViolations(egress, settings!.agentEgress);
      const { code, message } = await outcome(tryRun(egress));
      const [path, ...rest] = (violations[0] ?? '').split(': ');
      const agrees = violations.length === 0 ? code === 200
        : code === 403 && message.includes(`${path} goes beyond what the grant policy (ConfigMap skillpod-system/skillpod-grant-policy, as installed) lets an agent reach: ${rest.join(': ')}`);
      if (violations.length > 0) refused++;
      if (!agrees) disagreements.push(`${name}: operator says ${JSON.stringify(violations)}, API server ${code} ${message}`);
    }
    expect(disagreements).toEqual([]);
    return { refused, accepted: cases.length - refused };
  }

  it('refuses what the default install does not allow (ports other than 443 and 80, every port, selectors), as the operator would', async () => {
    await refusedEventually(() => tryRun([{ ports: [{ protocol: 'TCP', port: 22 }] }]), /lets an agent reach: port 22/);
    const { refused, accepted } = await agreeWithOperator();
    expect([refused, accepted]).toEqual([7, 3]);
  });

  it('follows the settings as installed: CIDRs and ports narrowed, selectors allowed', async () => {
    const undo = await patchGrantPolicy({ agentEgressCIDRs: '10.0.0.0/8', agentEgressPorts: '443,8443', agentEgressSelectors: 'true' });
    try {
      await reinstall();
      await refusedEventually(() => tryRun([{ ports: https, to: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }]), /ipBlock 192.0.2.0\/24 lies within none of 10.0.0.0\/8/);
      const { refused, accepted } = await agreeWithOperator();
      expect([refused, accepted]).toEqual([8, 2]);
    } finally {
      await undo();
      await reinstall();
    }
    await eventually(async () => expect((await outcome(tryRun([{ ports: https, to: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }]))).code).toBe(200));
  });
});

describe('the AgentRun admission policies within the API server\'s CEL budget', () => {
  it('check 16 packs and 16 Secrets by name in one request, and refuse a 17th Secret with a message saying why', async () => {
    const many = Array.from({ length: 16 }, (_, i) => `trust-many-${i}`);
    const custom = clients().custom;
    for (const name of many) await custom.createClusterCustomObject({ ...GROUP, plural: 'skillpacks', body: packBody(name) });
    try {
      await rbac.createClusterRole({ body: { metadata: { name: 'trust-many' }, rules: [
        { apiGroups: ['skillpod.io'], resources: ['skillpacks'], resourceNames: many, verbs: ['use'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: many, verbs: ['get'] },
      ] } });
      await rbac.createClusterRoleBinding({ body: { metadata: { name: 'trust-many' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'trust-many' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: JANE }] } });
      const env = (names: string[]) => names.map((n, i) => ({ name: `S${i}`, valueFrom: { secretKeyRef: { name: n, key: 'k' } } }));
      const run = (secrets: string[]) => jane.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: nsB, dryRun: 'All',
        body: runBody('many', { skills: many.map((name) => ({ name })), agent: { image: 'agent:test', env: env(secrets) } }) });
      await eventually(async () => expect(await outcome(run(many))).toEqual({ code: 200, message: '' }));
      const tooMany = await outcome(run([...many, 'one-more']));
      expect(tooMany.code).toBe(403);
      expect(tooMany.message).toContain(`${JANE} may not get every Secret in namespace ${nsB}, so each is checked by name, at most 16 in one request; this one adds 17`);
    } finally {
      for (const name of many) await deletePack(name);
      await gone(rbac.deleteClusterRoleBinding({ name: 'trust-many' }));
      await gone(rbac.deleteClusterRole({ name: 'trust-many' }));
    }
  });
});

describe('the user roles', () => {
  /** The built-in role as the clusterrole-aggregation controller fills it, once it holds skillpod's rules. */
  async function aggregated(role: 'edit' | 'admin' | 'view') {
    return await eventually(async () => {
      const rules = (await rbac.readClusterRole({ name: role })).rules ?? [];
      if (!rules.some((r) => r.apiGroups?.includes('skillpod.io'))) throw new Error(`ClusterRole ${role} has no skillpod.io rules yet`);
      return rules;
    }, 30_000);
  }
  const allows = (rules: Awaited<ReturnType<typeof aggregated>>, verb: string, resource: string) =>
    rules.some((r) => r.apiGroups?.includes('skillpod.io') && r.resources?.includes(resource) && r.verbs.includes(verb));

  it('give namespace editors and admins AgentRuns, viewers a read, and nobody use on any pack', async () => {
    for (const role of ['edit', 'admin'] as const) {
      const rules = await aggregated(role);
      for (const verb of ['create', 'get', 'list', 'watch', 'patch', 'delete']) expect(allows(rules, verb, 'agentruns')).toBe(true);
      expect(rules.some((r) => r.resources?.includes('skillpacks'))).toBe(false);
    }
    const view = await aggregated('view');
    expect(allows(view, 'list', 'agentruns')).toBe(true);
    expect(allows(view, 'create', 'agentruns')).toBe(false);
    expect(view.some((r) => r.resources?.includes('skillpacks'))).toBe(false);
  });

  it('hold what they say on the real authorizer: AgentRuns, no use, no Secrets', async () => {
    expect(await userCan(JANE, 'create', { group: 'skillpod.io', resource: 'agentruns', namespace: nsB })).toBe(true);
    expect(await userCan(JANE, 'use', { group: 'skillpod.io', resource: 'skillpacks', name: PACKS[0], namespace: nsB })).toBe(false);
    expect(await userCan(JANE, 'get', { resource: 'secrets', name: 'db', namespace: nsB })).toBe(false);
    expect(await userCan(JANE, 'create', { resource: 'pods', namespace: nsB })).toBe(false);
  });

  it('reach namespace editors through the built-in edit role (aggregation), still without use on any pack', async () => {
    const editor = 'trust-editor';
    await bindInNamespace(nsB, 'edit', editor);
    await aggregated('edit');
    // The authorizer reads roles from its own cache, a moment behind the aggregation.
    await eventually(async () => expect(await userCan(editor, 'create', { group: 'skillpod.io', resource: 'agentruns', namespace: nsB })).toBe(true));
    expect(await userCan(editor, 'patch', { group: 'skillpod.io', resource: 'agentruns', namespace: nsB })).toBe(true);
    expect(await userCan(editor, 'use', { group: 'skillpod.io', resource: 'skillpacks', name: PACKS[0], namespace: nsB })).toBe(false);
    expect(await userCan(editor, 'create', { group: 'skillpod.io', resource: 'agentruns', namespace: nsA })).toBe(false);
  });
});
