// The operator's own bounds (helm/skillpod/files/admission-operator-bounds.yaml) on the real API server: requests
// made with a TokenRequest token of the operator's ServiceAccount, as a compromised operator would make them.
// RBAC lets them through (some thanks to an extra ClusterRole standing for a wide grant policy); the admission
// policy refuses them. The well-formed objects of a real run still go through, and agentrun.test.ts runs the
// whole lifecycle under the same policy.
import {
  AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRun } from '../../operator/src/api/index.ts';
import { buildRunObjects, type RunObjects } from '../../operator/src/agentrun/decide/render.ts';
import { agentRun, pack, settings } from '../../operator/src/builders/testdata/fixtures.ts';
import { testCluster } from '../harness/context.ts';
import { createRun } from '../harness/kube.ts';
import { installSkillpod, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT } from '../harness/operator.ts';
import { core, gone, outcome, rbac, refusedEventually, tokenConfig } from './trust-support.ts';

const GROUP = { group: 'skillpod.io', version: 'v1alpha1' };
const EXTRA = 'trust-operator-extra';
let ns: string;
let run: AgentRun;
let objects: RunObjects;
let op: {
  core: CoreV1Api; rbac: RbacAuthorizationV1Api; net: NetworkingV1Api; apps: AppsV1Api; leases: CoordinationV1Api; custom: CustomObjectsApi;
};

const BOUNDS = /skillpod-operator-bounds/;

beforeAll(async () => {
  await installSkillpod();
  ns = await testCluster.createNamespace('trust-bounds');
  // What a wide grant policy would give the operator: writes it never needs for a run.
  await rbac.createClusterRole({ body: { metadata: { name: EXTRA }, rules: [
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods/exec', 'serviceaccounts/token', 'secrets'], verbs: ['create', 'get'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'delete'] },
  ] } });
  await rbac.createClusterRoleBinding({ body: { metadata: { name: EXTRA },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: EXTRA },
    subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SERVICE_ACCOUNT, namespace: OPERATOR_NAMESPACE }] } });
  const kc: KubeConfig = await tokenConfig(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT);
  op = {
    core: kc.makeApiClient(CoreV1Api), rbac: kc.makeApiClient(RbacAuthorizationV1Api), net: kc.makeApiClient(NetworkingV1Api),
    apps: kc.makeApiClient(AppsV1Api), leases: kc.makeApiClient(CoordinationV1Api), custom: kc.makeApiClient(CustomObjectsApi),
  };
  // A real AgentRun (no operator runs in this file) and the objects the operator would build for it.
  const created = await createRun(ns, 'bounded', {});
  run = agentRun({ skills: [{ name: 'kubectl' }] }, { name: 'bounded', namespace: ns, uid: created.metadata.uid! });
  const kubectl = pack('kubectl', { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
  objects = buildRunObjects({ run, packs: new Map([['kubectl', kubectl]]), settings });
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'not-ours' }, data: { a: 'b' } } });
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'deployer' } } });
  await rbac.createClusterRole({ body: { metadata: { name: 'trust-read-pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } });
});
afterAll(async () => {
  await testCluster.deleteNamespace(ns);
  await gone(rbac.deleteClusterRoleBinding({ name: EXTRA }));
  await gone(rbac.deleteClusterRole({ name: EXTRA }));
  await gone(rbac.deleteClusterRole({ name: 'skillpod:trust:x-00000000' }));
  await gone(rbac.deleteClusterRole({ name: 'trust-read-pods' }));
});

const variant = <T>(object: T, change: (copy: T) => void): T => {
  const copy = structuredClone(object);
  change(copy);
  return copy;
};

describe('the operator ServiceAccount, bounded by admission', () => {
  it('creates the objects of a real run, and deletes them', async () => {
    // The policy and its binding load through informers: the first refusal shows it is in force.
    await refusedEventually(() => op.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'probe' } }, dryRun: 'All' }), BOUNDS);
    expect(await outcome(op.core.createNamespacedServiceAccount({ namespace: ns, body: objects.serviceAccount }))).toEqual({ code: 200, message: '' });
    expect(await outcome(op.core.createNamespacedConfigMap({ namespace: ns, body: objects.configMap }))).toEqual({ code: 200, message: '' });
    expect(await outcome(op.rbac.createNamespacedRole({ namespace: ns, body: objects.role! }))).toEqual({ code: 200, message: '' });
    expect(await outcome(op.rbac.createNamespacedRoleBinding({ namespace: ns, body: objects.roleBinding! }))).toEqual({ code: 200, message: '' });
    expect(await outcome(op.net.createNamespacedNetworkPolicy({ namespace: ns, body: objects.networkPolicy }))).toEqual({ code: 200, message: '' });
    // The ServiceAccount admission plugin reads its own cache: retry while it says the ServiceAccount is missing.
    let pod = { code: 0, message: '' };
    for (let i = 0; i < 50 && pod.code !== 200; i++) {
      pod = await outcome(op.core.createNamespacedPod({ namespace: ns, body: objects.pod! }));
      if (!pod.message.includes('service account')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(pod).toEqual({ code: 200, message: '' });
    expect(await outcome(op.core.patchNamespacedPod({ namespace: ns, name: objects.pod!.metadata!.name!,
      body: [{ op: 'replace', path: '/metadata/annotations/skillpod.io~1disabled-skills', value: 'kubectl' }] }))).toEqual({ code: 200, message: '' });
    expect((await outcome(op.core.createNamespacedEvent({ namespace: ns, body: { metadata: { generateName: 'bounded.' },
      involvedObject: { kind: 'AgentRun', name: 'bounded', namespace: ns }, reason: 'Test', message: 'allowed', type: 'Normal' } }))).code).toBe(200);
    expect((await outcome(op.leases.createNamespacedLease({ namespace: OPERATOR_NAMESPACE, body: { metadata: { name: 'trust-lease' } } }))).code).toBe(200);
    await op.leases.deleteNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: 'trust-lease' });
    const name = objects.run.childName;
    expect((await outcome(op.net.deleteNamespacedNetworkPolicy({ namespace: ns, name }))).code).toBe(200);
    expect((await outcome(op.core.deleteNamespacedConfigMap({ namespace: ns, name }))).code).toBe(200);
  });

  it.each<[string, () => V1Pod]>([
    ['another ServiceAccount', () => variant(objects.pod!, (p) => { p.spec!.serviceAccountName = 'deployer'; })],
    ['no managed-by label', () => variant(objects.pod!, (p) => { delete p.metadata!.labels!['app.kubernetes.io/managed-by']; p.metadata!.name = `${p.metadata!.name}x`; })],
    ['a name that is not its run\'s', () => variant(objects.pod!, (p) => { p.metadata!.name = 'deployer'; p.spec!.serviceAccountName = 'deployer'; })],
    ['an owner that is not its run', () => variant(objects.pod!, (p) => { p.metadata!.ownerReferences![0]!.uid = '00000000-0000-4000-8000-000000000000'; })],
    ['the token mounted automatically', () => variant(objects.pod!, (p) => { p.spec!.automountServiceAccountToken = true; })],
    ['a hostPath volume', () => variant(objects.pod!, (p) => { p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/' } }); })],
    // (a privileged container too, but this API server refuses those itself: --allow-privileged=false)
    ['the host network', () => variant(objects.pod!, (p) => { p.spec!.hostNetwork = true; })],
    ['a node chosen by hand', () => variant(objects.pod!, (p) => { p.spec!.nodeName = 'node-1'; })],
  ])('refuses a pod with %s', async (_what, pod) => {
    const body = pod();
    const { code, message } = await outcome(op.core.createNamespacedPod({ namespace: ns, body, dryRun: 'All' }));
    expect(code).toBe(403);
    expect(message).toMatch(BOUNDS);
  });

  it('refuses bindings to anyone but the run\'s own ServiceAccount, and to any role but the run\'s own', async () => {
    const rb = objects.roleBinding!;
    for (const body of [
      variant(rb, (b) => { b.subjects = [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }]; }),
      variant(rb, (b) => { b.subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }]; }),
      variant(rb, (b) => { b.subjects!.push({ kind: 'ServiceAccount', name: 'deployer', namespace: ns }); }),
      // A ClusterRole the operator holds all of (so RBAC's escalation check passes), but not the run's Role.
      variant(rb, (b) => { b.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'trust-read-pods' }; }),
    ]) {
      const { code, message } = await outcome(op.rbac.createNamespacedRoleBinding({ namespace: ns, body, dryRun: 'All' }));
      expect([code, message.match(BOUNDS)?.[0]]).toEqual([403, 'skillpod-operator-bounds']);
    }
    const crbName = `skillpod:${ns}:${objects.run.childName}`;
    const labels = { ...objects.serviceAccount.metadata!.labels, 'skillpod.io/run-namespace': ns };
    const crb = (subjects: Array<{ kind: string; name: string; namespace?: string }>) => op.rbac.createClusterRoleBinding({ dryRun: 'All', body: {
      metadata: { name: crbName, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: crbName }, subjects } });
    // The run's ClusterRole (what a pack's cluster rules become), then bindings of it. The default grant policy allows
    // no cluster rule, so the operator may write it only empty; the admin writes it here with one.
    expect((await outcome(op.rbac.createClusterRole({ body: { metadata: { name: crbName, labels },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } }))).message).toMatch(/only with rules within the grant policy/);
    expect((await outcome(op.rbac.createClusterRole({ dryRun: 'All', body: { metadata: { name: crbName, labels }, rules: [] } }))).code).toBe(200);
    await rbac.createClusterRole({ body: { metadata: { name: crbName, labels }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } });
    expect((await outcome(crb([{ kind: 'ServiceAccount', name: objects.run.childName, namespace: ns }]))).code).toBe(200);
    expect((await outcome(crb([{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }]))).message).toMatch(BOUNDS);
    expect((await outcome(crb([{ kind: 'ServiceAccount', name: objects.run.childName, namespace: 'kube-system' }]))).message).toMatch(BOUNDS);
    expect((await outcome(op.rbac.deleteClusterRole({ name: crbName }))).code).toBe(200);
    // Nor any other role: not a ClusterRole the operator holds all of, not cluster-admin, not another run's.
    for (const roleRef of [{ kind: 'ClusterRole', name: 'trust-read-pods' }, { kind: 'ClusterRole', name: 'cluster-admin' }]) {
      const body = variant(rb, (b) => { b.roleRef = { apiGroup: 'rbac.authorization.k8s.io', ...roleRef }; });
      expect((await outcome(op.rbac.createNamespacedRoleBinding({ namespace: ns, body, dryRun: 'All' }))).code).toBe(403);
    }
  });

  it('refuses a NetworkPolicy that selects more than its run\'s pod', async () => {
    const body = variant(objects.networkPolicy, (n) => { n.metadata!.name = `${n.metadata!.name}x`; n.spec!.podSelector = {}; });
    expect((await outcome(op.net.createNamespacedNetworkPolicy({ namespace: ns, body, dryRun: 'All' }))).message).toMatch(BOUNDS);
  });

  it('refuses to touch objects it does not manage: no update, no delete, no adoption by label', async () => {
    for (const attempt of [
      () => op.core.patchNamespacedConfigMap({ namespace: ns, name: 'not-ours', body: [{ op: 'add', path: '/data/x', value: 'y' }] }),
      () => op.core.patchNamespacedConfigMap({ namespace: ns, name: 'not-ours', body: [{ op: 'add', path: '/metadata/labels', value: { 'app.kubernetes.io/managed-by': 'skillpod' } }] }),
      () => op.core.deleteNamespacedConfigMap({ namespace: ns, name: 'not-ours' }),
      () => op.core.deleteNamespacedConfigMap({ namespace: ns, name: 'kube-root-ca.crt' }),
      () => op.core.deleteNamespacedServiceAccount({ namespace: ns, name: 'deployer' }),
    ]) {
      const { code, message } = await outcome(attempt());
      expect([code, message.includes('it does not carry app.kubernetes.io/managed-by=skillpod')]).toEqual([403, true]);
    }
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: 'not-ours' })).data).toEqual({ a: 'b' });
  });

  it('refuses every kind a run does not consist of, and every CONNECT, whatever its RBAC allows', async () => {
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['apps/deployments', () => op.apps.createNamespacedDeployment({ namespace: ns, dryRun: 'All', body: {
        metadata: { name: 'x', labels: { 'app.kubernetes.io/managed-by': 'skillpod' } },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { serviceAccountName: 'deployer', containers: [{ name: 'c', image: 'x' }] } } } } })],
      ['serviceaccounts/token', () => op.core.createNamespacedServiceAccountToken({ namespace: ns, name: 'deployer', body: { spec: { audiences: [] } } })],
      ['secrets', () => op.core.createNamespacedSecret({ namespace: ns, dryRun: 'All', body: { metadata: { name: 's' } } })],
      ['coordination.k8s.io/leases', () => op.leases.createNamespacedLease({ namespace: ns, dryRun: 'All', body: { metadata: { name: 'l' } } })],
      ['pods/exec', () => op.core.connectPostNamespacedPodExec({ namespace: ns, name: objects.pod!.metadata!.name!, command: 'id', stdout: true })],
    ];
    for (const [what, attempt] of attempts) {
      const { code, message } = await outcome(attempt());
      expect([what, code, message.match(/the Skillpod operator may not \S+ \S+/)?.[0]]).toEqual([what, 403, expect.stringContaining(what)]);
    }
  });

  it('changes nothing of an AgentRun but its finalizers, and deletes only finished runs', async () => {
    const patch = (ops: object[]) => outcome(op.custom.patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, name: 'bounded', body: ops }));
    expect((await patch([{ op: 'add', path: '/metadata/finalizers', value: ['skillpod.io/cluster-grants'] }])).code).toBe(200);
    expect((await patch([{ op: 'remove', path: '/metadata/finalizers' }])).code).toBe(200);
    expect((await patch([{ op: 'add', path: '/spec/ttlSecondsAfterFinished', value: 1 }])).message).toMatch(/may change only the finalizer skillpod.io\/cluster-grants/);
    // Enabling a skill is refused twice over: the operator holds no `use` on any pack either.
    expect((await patch([{ op: 'add', path: '/spec/skills', value: [{ name: 'kubectl' }] }])).code).toBe(403);
    expect((await patch([{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }])).message).toMatch(/may change only the finalizer skillpod.io\/cluster-grants/);
    const del = await outcome(op.custom.deleteNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, name: 'bounded' }));
    expect(del.message).toMatch(/may delete only finished AgentRuns/);
  });

  it('holds neither escalate, bind nor impersonate, so it can grant only what its grantable role holds', async () => {
    const name = 'skillpod:trust:x-00000000';
    const { code, message } = await outcome(op.rbac.createClusterRole({ body: { metadata: { name, labels: {
      'app.kubernetes.io/managed-by': 'skillpod', 'skillpod.io/run': 'x', 'skillpod.io/run-uid': '00000000-0000-4000-8000-000000000000', 'skillpod.io/run-namespace': 'trust' } },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] } }));
    expect(code).toBe(403);
    expect(message).toContain('attempting to grant RBAC permissions not currently held');
  });
});

// Issue 14: the escapes a compromised operator had while its bounds were a denylist. Each request is one RBAC lets
// through (the operator holds the permission); the admission policy is what refuses it.
describe('the operator ServiceAccount cannot mint an identity beyond the grant policy, or take a node', () => {
  const pod = (change: (p: V1Pod) => void) => variant(objects.pod!, change);
  const agent = (p: V1Pod) => p.spec!.containers[0]!;
  const sidecar = (p: V1Pod) => p.spec!.initContainers!.find((c) => c.name.startsWith('skill-'))!;
  const install = (p: V1Pod) => p.spec!.initContainers!.find((c) => c.name === 'skillpod-install')!;
  const runLabels = () => ({ ...objects.serviceAccount.metadata!.labels });

  it('refuses a ClusterRole or Role holding the operator\'s own permissions (pods create, RBAC writes)', async () => {
    const own = (await rbac.readClusterRole({ name: 'skillpod-operator' })).rules!;
    const clusterName = `skillpod:${ns}:${objects.run.childName}`;
    const cr = await outcome(op.rbac.createClusterRole({ dryRun: 'All', body: { metadata: { name: clusterName, labels: { ...runLabels(), 'skillpod.io/run-namespace': ns } }, rules: own } }));
    expect(cr.code).toBe(403);
    expect(cr.message).toMatch(/skillpod-operator-bounds.*only with rules within the grant policy \(ConfigMap skillpod-system\/skillpod-grant-policy, as installed\): rules\[0\] grants/);
    const role = (rules: object[]) => op.rbac.createNamespacedRole({ namespace: ns, dryRun: 'All', body: { ...objects.role!, rules } as never });
    for (const rules of [
      [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
      [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['create', 'patch'] }],
      [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['create'] }],
    ]) {
      const { code, message } = await outcome(role(rules));
      expect([code, message.match(/only with rules within the grant policy/)?.[0]]).toEqual([403, 'only with rules within the grant policy']);
    }
    // Within the grant policy, narrowed by name: allowed.
    // (The run's Role exists from the first test: a dry-run create then answers 409, after admission.)
    const within = await outcome(role([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web'] }]));
    expect(within.message).not.toMatch(BOUNDS);
    expect([200, 409]).toContain(within.code);
    // Aggregation would pull in whatever other roles carry a label: refused (RBAC also asks for escalate).
    const aggregated = await outcome(op.rbac.createClusterRole({ dryRun: 'All', body: { metadata: { name: clusterName, labels: { ...runLabels(), 'skillpod.io/run-namespace': ns } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }] } } }));
    expect(aggregated.code).toBe(403);
  });

  it('refuses a ServiceAccount that would hand pods image pull Secrets', async () => {
    const body = variant(objects.serviceAccount, (s) => { s.metadata!.name = `${s.metadata!.name}`; s.imagePullSecrets = [{ name: 'registry' }]; });
    expect((await outcome(op.core.createNamespacedServiceAccount({ namespace: ns, body, dryRun: 'All' }))).message).toMatch(/no secrets and no imagePullSecrets/);
  });

  it.each<[string, () => V1Pod, RegExp]>([
    ['a Secret volume', () => pod((p) => { p.spec!.volumes!.push({ name: 'loot', secret: { secretName: 'db' } }); }), /volumes of kinds .* not: loot/],
    ['a Secret in a projected volume', () => pod((p) => { p.spec!.volumes!.push({ name: 'loot', projected: { sources: [{ secret: { name: 'db' } }] } }); }), /not: loot/],
    ['a token for another audience', () => pod((p) => { p.spec!.volumes!.push({ name: 'aud', projected: { sources: [{ serviceAccountToken: { path: 't', audience: 'vault' } }] } }); }), /not: aud/],
    ['another ConfigMap', () => pod((p) => { p.spec!.volumes!.push({ name: 'cm', configMap: { name: 'not-ours' } }); }), /not: cm/],
    ['a persistent volume claim', () => pod((p) => { p.spec!.volumes!.push({ name: 'pvc', persistentVolumeClaim: { claimName: 'data' } }); }), /not: pvc/],
    ['a root container', () => pod((p) => { agent(p).securityContext = { ...agent(p).securityContext, runAsUser: 0, runAsNonRoot: false }; }), /every container restricted.*not: agent/],
    ['added capabilities', () => pod((p) => { sidecar(p).securityContext!.capabilities = { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN'] }; }), /not: skill-kubectl/],
    ['capabilities not dropped', () => pod((p) => { install(p).securityContext!.capabilities = {}; }), /not: skillpod-install/],
    ['privilege escalation', () => pod((p) => { agent(p).securityContext!.allowPrivilegeEscalation = true; }), /not: agent/],
    ['no seccomp', () => pod((p) => { agent(p).securityContext!.seccompProfile = { type: 'Unconfined' }; }), /not: agent/],
    ['a host port', () => pod((p) => { agent(p).ports = [{ containerPort: 8080, hostPort: 80 }]; }), /only without hostPort; not: agent/],
    ['envFrom a Secret', () => pod((p) => { agent(p).envFrom = [{ secretRef: { name: 'db' } }]; }), /Secrets in env valueFrom.secretKeyRef of the agent and skill-\* containers.*not: agent/],
    ['a Secret in the install container', () => pod((p) => { install(p).env = [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }]; }), /not: skillpod-install/],
    ['a control-plane toleration', () => pod((p) => { p.spec!.tolerations = [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]; }), /control-plane/],
    ['a toleration of every taint', () => pod((p) => { p.spec!.tolerations = [{ operator: 'Exists' }]; }), /tolerations of every taint/],
    ['a control-plane node selector', () => pod((p) => { p.spec!.nodeSelector = { 'node-role.kubernetes.io/control-plane': '' }; }), /control-plane/],
    ['an affinity', () => pod((p) => { p.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }] } } }; }), /affinity/],
    ['a shared process namespace', () => pod((p) => { p.spec!.shareProcessNamespace = true; }), /shared process namespace/],
  ])('refuses a pod with %s', async (_what, body, match) => {
    const { code, message } = await outcome(op.core.createNamespacedPod({ namespace: ns, body: body(), dryRun: 'All' }));
    expect([code, message.match(BOUNDS)?.[0]]).toEqual([403, 'skillpod-operator-bounds']);
    expect(message).toMatch(match);
  });

  it('still creates the pod shapes an AgentRun asks for: Secret env of the agent and of sidecars, tolerations, node selectors, a runtime class', async () => {
    const body = pod((p) => {
      agent(p).env!.push({ name: 'MODEL_API_KEY', valueFrom: { secretKeyRef: { name: 'model-credentials', key: 'api-key' } } });
      sidecar(p).env!.push({ name: 'GIT_TOKEN', valueFrom: { secretKeyRef: { name: 'github-token', key: 'token' } } });
      p.spec!.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'agents', effect: 'NoSchedule' }];
      p.spec!.nodeSelector = { 'kubernetes.io/arch': 'amd64' };
      p.spec!.imagePullSecrets = [{ name: 'regcred' }];
      p.metadata!.name = `${p.metadata!.name}`;
    });
    // (A pod of this name may exist from the first test: a dry run of a create then answers 409 past admission.)
    const { code, message } = await outcome(op.core.createNamespacedPod({ namespace: ns, body, dryRun: 'All' }));
    expect(message).not.toMatch(BOUNDS);
    expect([200, 409]).toContain(code);
  });

  it('refuses an image swap, or any spec, label or owner change, on an existing run pod; the gate annotation still changes', async () => {
    const name = objects.pod!.metadata!.name!;
    if ((await outcome(core.readNamespacedPod({ namespace: ns, name }))).code === 404) await core.createNamespacedPod({ namespace: ns, body: objects.pod! });
    const patch = (ops: object[]) => outcome(op.core.patchNamespacedPod({ namespace: ns, name, body: ops }));
    for (const ops of [
      [{ op: 'replace', path: '/spec/containers/0/image', value: 'attacker.example/agent:latest' }],
      [{ op: 'replace', path: '/spec/initContainers/0/image', value: 'attacker.example/executor:latest' }],
      [{ op: 'add', path: '/metadata/labels/team', value: 'payments' }],
      [{ op: 'add', path: '/metadata/annotations/skillpod.io~1grants', value: '{"version":1,"packs":{}}' }],
    ]) {
      const { code, message } = await patch(ops);
      expect([JSON.stringify(ops), code, message.match(/may change only the annotation skillpod.io\/disabled-skills/)?.[0]]).toEqual([JSON.stringify(ops), 403, 'may change only the annotation skillpod.io/disabled-skills']);
    }
    expect((await patch([{ op: 'replace', path: '/metadata/annotations/skillpod.io~1disabled-skills', value: '' }])).code).toBe(200);
    expect((await core.readNamespacedPod({ namespace: ns, name })).spec!.containers[0]!.image).toBe(objects.pod!.spec!.containers[0]!.image);
  });

  it('refuses an owner reference added to a running AgentRun (which would let the garbage collector delete it), and removing others\' finalizers', async () => {
    const owner = await core.readNamespacedConfigMap({ namespace: ns, name: 'not-ours' });
    const patch = (ops: object[]) => outcome(op.custom.patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, name: 'bounded', body: ops }));
    const added = await patch([{ op: 'add', path: '/metadata/ownerReferences', value: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'not-ours', uid: owner.metadata!.uid! }] }]);
    expect([added.code, added.message.match(/may change only the finalizer skillpod.io\/cluster-grants/)?.[0]]).toEqual([403, 'may change only the finalizer skillpod.io/cluster-grants']);
    const admin = testCluster.kubeConfig().makeApiClient(CustomObjectsApi);
    await admin.patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, name: 'bounded', body: [{ op: 'add', path: '/metadata/finalizers', value: ['example.com/keep'] }] });
    try {
      expect((await patch([{ op: 'remove', path: '/metadata/finalizers/0' }])).code).toBe(403);
      expect((await patch([{ op: 'add', path: '/metadata/finalizers/-', value: 'skillpod.io/cluster-grants' }])).code).toBe(200);
      expect((await patch([{ op: 'replace', path: '/metadata/finalizers', value: ['example.com/keep'] }])).code).toBe(200);
    } finally {
      await admin.patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, name: 'bounded', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    }
  });
});
