// Least privilege, proven on the real API server with real identities: a client-certificate user `jane` who may
// create AgentRuns, the operator under its own ServiceAccount (reading the installed grant policy ConfigMap), and
// each run's ServiceAccount through tokens from the TokenRequest API, used as a pod's sidecar would use them.
import { AuthorizationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRun } from '../../operator/src/api/index.ts';
import { canonicalRules } from '../../operator/src/builders/rules.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, can, clients, deletePack, getRun, podOf, setPodStatus } from '../harness/kube.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';
import { kubectl } from '../harness/kubectl.ts';
import { bindInNamespace, outcome, patchGrantPolicy, rbac, refusedEventually, reinstall, tokenConfig, useRole, user } from './trust-support.ts';

const GROUP = { group: 'skillpod.io', version: 'v1alpha1' };
const JANE = 'trust-lp-jane';
const READ_PODS = [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }];
const READ_DEPLOYMENTS = [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] }];
const PACKS = { pods: 'lp-pods', deployments: 'lp-deployments', plain: 'lp-plain' } as const;

let operator: TestOperator;
let jane: KubeConfig;
let nsA: string;
let nsB: string;
let undoNamespacedUse: (() => Promise<void>) | undefined;

const running = { running: { startedAt: new Date() } };
const finished = { terminated: { exitCode: 0, reason: 'Completed', message: 'done' } };

function createRunAs(kc: KubeConfig, namespace: string, name: string, skills: Array<{ name: string; enabled?: boolean }>) {
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, body: {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name }, spec: { task: 'look around', agent: { image: 'agent:test' }, skills } } });
}
function toggleAs(kc: KubeConfig, namespace: string, name: string, index: number, enabled: boolean) {
  return kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, name,
    body: [{ op: 'replace', path: `/spec/skills/${index}/enabled`, value: enabled }] });
}

/** A started run and a TokenRequest token of its ServiceAccount, as a skill sidecar holds one. */
async function startedRun(namespace: string, name: string, skills: Array<{ name: string }>) {
  await eventually(async () => expect((await outcome(createRunAs(jane, namespace, name, skills))).code).toBe(200));
  const pod = await podOf(namespace, name);
  const run = await getRun(namespace, name);
  const serviceAccount = run.status!.serviceAccountName!;
  return { pod, run, serviceAccount, username: `system:serviceaccount:${namespace}:${serviceAccount}`, token: await tokenConfig(namespace, serviceAccount) };
}

/** What a token may do, by the status code of a real request. */
async function statusWith(kc: KubeConfig, what: 'pods' | 'deployments' | 'secrets', namespace: string): Promise<number> {
  const { core } = clients(kc);
  if (what === 'pods') return (await outcome(core.listNamespacedPod({ namespace }))).code;
  if (what === 'secrets') return (await outcome(core.listNamespacedSecret({ namespace }))).code;
  return (await outcome(kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', namespace }))).code;
}

/** The resource rules a token holds in a namespace (SelfSubjectRulesReview), without what every authenticated user holds. */
async function rulesOf(kc: KubeConfig, namespace: string): Promise<V1PolicyRule[]> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({ body: { spec: { namespace } } });
  const own = (review.status?.resourceRules ?? []).filter((r) => !(r.apiGroups ?? []).some((g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io'));
  return canonicalRules(own.map((r) => ({ ...r, verbs: r.verbs })));
}

beforeAll(async () => {
  operator = await startOperator();
  jane = await user(JANE);
  nsA = await testCluster.createNamespace('trust-lp-a', { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' });
  nsB = await testCluster.createNamespace('trust-lp-b');
  for (const ns of [nsA, nsB]) await bindInNamespace(ns, 'skillpod:agentrun-editor', JANE);
  // Use granted in nsA only: a RoleBinding, which counts for the packs the grant policy names in namespacedUse.
  undoNamespacedUse = await patchGrantPolicy({ namespacedUse: Object.values(PACKS).join(',') });
  await reinstall();
  for (const pack of Object.values(PACKS)) await bindInNamespace(nsA, await useRole(pack), JANE);
  await applyPack(PACKS.pods, { rbac: { rules: READ_PODS } });
  await applyPack(PACKS.deployments, { rbac: { rules: READ_DEPLOYMENTS } });
  await applyPack(PACKS.plain);
});
afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(nsA);
  await testCluster.deleteNamespace(nsB);
  await undoNamespacedUse?.();
  await reinstall();
  for (const pack of Object.values(PACKS)) {
    await deletePack(pack);
    await rbac.deleteClusterRole({ name: `skillpod:use:${pack}` }).catch(() => undefined);
  }
});

describe('least privilege', () => {
  it('refuses a user without use on a pack; with use, the run holds exactly that pack\'s rules in its namespace and nothing elsewhere', async () => {
    await refusedEventually(() => createRunAs(jane, nsB, 'no-use', [{ name: PACKS.pods }]), /needs the verb use on SkillPack lp-pods/);

    const { pod, username, token } = await startedRun(nsA, 'one', [{ name: PACKS.pods }]);
    // The operator's pod was admitted where the restricted Pod Security level is enforced.
    expect((await clients().core.readNamespace({ name: nsA })).metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(pod.metadata?.namespace).toBe(nsA);

    expect(await rulesOf(token, nsA)).toEqual(canonicalRules(READ_PODS));
    expect(await rulesOf(token, nsB)).toEqual([]);
    expect(await statusWith(token, 'pods', nsA)).toBe(200);
    expect(await statusWith(token, 'pods', nsB)).toBe(403);
    expect(await statusWith(token, 'deployments', nsA)).toBe(403);
    expect(await statusWith(token, 'secrets', nsA)).toBe(403);
    expect(await can(username, 'delete', 'pods', nsA)).toBe(false);
    // What docs/security.md tells a person to run to see what a run receives.
    const listed = await kubectl(['auth', 'can-i', '--list', '-n', nsA, `--as=${username}`]);
    expect(listed.stdout).toMatch(/^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    expect(listed.stdout).not.toMatch(/^secrets/m);
  });

  it('holds the union of its enabled packs while it lives, loses a pack switched off at once, and every token dies with the run', async () => {
    const { pod, username, token } = await startedRun(nsA, 'union', [{ name: PACKS.pods }, { name: PACKS.deployments }, { name: PACKS.plain }]);
    await setPodStatus(nsA, pod.metadata!.name!, 'Running', running);
    expect(await rulesOf(token, nsA)).toEqual(canonicalRules([...READ_PODS, ...READ_DEPLOYMENTS]));
    expect([await statusWith(token, 'pods', nsA), await statusWith(token, 'deployments', nsA)]).toEqual([200, 200]);

    await toggleAs(jane, nsA, 'union', 1, false);
    await eventually(async () => expect(await statusWith(token, 'deployments', nsA)).toBe(403), 10_000);
    expect(await statusWith(token, 'pods', nsA)).toBe(200);
    await toggleAs(jane, nsA, 'union', 1, true);
    await eventually(async () => expect(await statusWith(token, 'deployments', nsA)).toBe(200), 10_000);

    // The agent ends: the ServiceAccount is deleted, and with it every token it issued.
    await setPodStatus(nsA, pod.metadata!.name!, 'Running', finished);
    await eventually(async () => expect((await getRun(nsA, 'union')).status?.phase).toBe('Succeeded'));
    await eventually(async () => expect(await statusWith(token, 'pods', nsA)).toBe(401), 10_000);
    expect(await can(username, 'list', 'pods', nsA)).toBe(false);
    expect(await can(username, 'list', 'deployments', nsA, 'apps')).toBe(false);
  });

  it('gives two concurrent runs in one namespace nothing in common', async () => {
    const x = await startedRun(nsA, 'run-x', [{ name: PACKS.pods }]);
    const y = await startedRun(nsA, 'run-y', [{ name: PACKS.deployments }]);
    expect(x.serviceAccount).not.toBe(y.serviceAccount);
    expect([await statusWith(x.token, 'pods', nsA), await statusWith(x.token, 'deployments', nsA)]).toEqual([200, 403]);
    expect([await statusWith(y.token, 'pods', nsA), await statusWith(y.token, 'deployments', nsA)]).toEqual([403, 200]);
    // Neither may act as the other.
    for (const [a, b] of [[x, y], [y, x]] as const) {
      expect(await can(a.username, 'create', 'serviceaccounts/token', nsA)).toBe(false);
      expect(await can(a.username, 'impersonate', 'serviceaccounts', nsA)).toBe(false);
      const other = await outcome(clients(a.token).core.createNamespacedServiceAccountToken({ namespace: nsA, name: b.serviceAccount, body: { spec: { audiences: [] } } }));
      expect(other.code).toBe(403);
    }
    // Each Role is bound to its own run's ServiceAccount only.
    for (const r of [x, y]) {
      const binding = await rbac.readNamespacedRoleBinding({ namespace: nsA, name: r.serviceAccount });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: r.serviceAccount, namespace: nsA }]);
      expect(binding.roleRef.name).toBe(r.serviceAccount);
    }
    // One ends; the other keeps exactly what it had.
    await setPodStatus(nsA, x.pod.metadata!.name!, 'Running', finished);
    await eventually(async () => expect(await statusWith(x.token, 'pods', nsA)).toBe(401), 15_000);
    expect(await statusWith(y.token, 'deployments', nsA)).toBe(200);
  });

  it('mounts no token in the agent container; only sidecars of packs with RBAC get one, projected and expiring', async () => {
    const pod = await podOf(nsA, 'union');
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    const tokenPath = '/var/run/secrets/kubernetes.io/serviceaccount';
    const tokenVolumes = (pod.spec?.volumes ?? []).filter((v) => v.projected?.sources?.some((s) => s.serviceAccountToken) || v.secret);
    expect(tokenVolumes.map((v) => v.name)).toEqual(['skillpod-token']);
    expect(tokenVolumes[0]?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken?.expirationSeconds).toBeGreaterThan(0);
    const mountsOf = (name: string) => [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name)?.volumeMounts ?? [];
    const holdsToken = (name: string) => mountsOf(name).some((m) => m.name === 'skillpod-token' || m.mountPath.startsWith('/var/run/secrets'));
    expect(holdsToken('agent')).toBe(false);
    expect(holdsToken('skillpod-install')).toBe(false);
    expect(holdsToken(`skill-${PACKS.plain}`)).toBe(false);
    for (const pack of [PACKS.pods, PACKS.deployments]) {
      expect(mountsOf(`skill-${pack}`).find((m) => m.name === 'skillpod-token')).toMatchObject({ mountPath: tokenPath, readOnly: true });
    }
    // Nor does the agent's environment carry one.
    const agentEnv = pod.spec?.containers.find((c) => c.name === 'agent')?.env ?? [];
    expect(agentEnv.filter((e) => /token|secret/i.test(e.name) || e.valueFrom?.secretKeyRef)).toEqual([]);
  });

  it('keeps a run that its creator could not start from existing at all (no pod, no grants)', async () => {
    const run = await outcome(createRunAs(jane, nsB, 'never', [{ name: PACKS.deployments }]));
    expect(run.code).toBe(403);
    const pods = await clients().core.listNamespacedPod({ namespace: nsB });
    expect(pods.items).toEqual([]);
    const core = testCluster.kubeConfig().makeApiClient(CoreV1Api);
    expect((await core.listNamespacedServiceAccount({ namespace: nsB })).items.map((s) => s.metadata?.name)).toEqual(['default']);
    expect((await clients().custom.listNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: nsB }) as { items: AgentRun[] }).items).toEqual([]);
  });
});
