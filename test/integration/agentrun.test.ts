// The AgentRun lifecycle on the real API server, with the operator under its own ServiceAccount. There is no
// kubelet: the tests write pod status as the kubelet would, then check the world through the API.
import { RbacAuthorizationV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRANT_POLICY } from '../../operator/src/policy/grant-policy.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import {
  applyPack, can, clients, condition, createRun, deletePack, deleteRun, getRun, grantsOf, GRANTS_GONE, patchRun, podOf, setPodStatus,
  statusCode,
} from '../harness/kube.ts';
import { install } from '../../operator/src/install/apply.ts';
import { installSkillpod, repoRoot, startOperator, type TestOperator } from '../harness/operator.ts';
import { scrape, value } from './metrics-support.ts';

const kc = testCluster.kubeConfig();
const { core } = clients();
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const networking = kc.makeApiClient(NetworkingV1Api);
let operator: TestOperator;
let ns: string;
let other: string;

const READ_PODS = { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] };
const running = { running: { startedAt: new Date() } };
const exited = (exitCode: number, message: string) => ({ terminated: { exitCode, message, reason: exitCode ? 'Error' : 'Completed' } });
const sa = (run: { status?: { serviceAccountName?: string } }, namespace = ns) => `system:serviceaccount:${namespace}:${run.status?.serviceAccountName}`;

const CLUSTER_GRANTABLE = [{ apiGroups: [''], resources: ['nodes', 'namespaces'], verbs: ['get', 'list'] }];

const GRANT_POLICY = { namespace: 'skillpod-system', name: 'skillpod-grant-policy' };
const reinstall = () => install(kc, { root: repoRoot, skillPacks: false });
const CLUSTER_KEYS = { cluster_nodes: 'get,list', cluster_namespaces: 'get,list' };

beforeAll(async () => {
  // A grant policy that allows these cluster rules, installed (install renders the SkillPack admission policy from
  // it); and a grantable role standing for what install renders from it: the operator must hold what it hands out.
  await installSkillpod();
  await core.patchNamespacedConfigMap({ ...GRANT_POLICY, body: Object.entries(CLUSTER_KEYS).map(([k, value]) => ({ op: 'add', path: `/data/${k}`, value })) });
  await reinstall();
  await rbac.createClusterRole({ body: { metadata: { name: 'skillpod-operator-grantable-test' }, rules: CLUSTER_GRANTABLE } }).catch(() => undefined);
  await rbac.createClusterRoleBinding({ body: { metadata: { name: 'skillpod-operator-grantable-test' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'skillpod-operator-grantable-test' },
    subjects: [{ kind: 'ServiceAccount', name: 'skillpod-operator', namespace: 'skillpod-system' }] } }).catch(() => undefined);
  operator = await startOperator([], {
    grantPolicy: () => ({ ...DEFAULT_GRANT_POLICY, clusterRules: CLUSTER_GRANTABLE }),
  });
  ns = await testCluster.createNamespace('ar', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  other = await testCluster.createNamespace('ar-other');
  await applyPack('ar-kubectl', { rbac: READ_PODS });
  await applyPack('ar-fetch', { egress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] });
});
afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  await testCluster.deleteNamespace(other);
  for (const p of ['ar-kubectl', 'ar-fetch', 'ar-late', 'ar-nodes']) await deletePack(p);
  await rbac.deleteClusterRoleBinding({ name: 'skillpod-operator-grantable-test' }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: 'skillpod-operator-grantable-test' }).catch(() => undefined);
  await core.patchNamespacedConfigMap({ ...GRANT_POLICY, body: Object.keys(CLUSTER_KEYS).map((k) => ({ op: 'remove', path: `/data/${k}` })) });
  await reinstall();
});

describe('an AgentRun', () => {
  it('runs to completion: pod, run-scoped RBAC, toggles, result, and every grant gone at the end', async () => {
    const created = await createRun(ns, 'full', { skills: [{ name: 'ar-kubectl' }, { name: 'ar-fetch' }] });
    const pod = await podOf(ns, 'full');
    const childName = pod.metadata!.name!;
    expect(childName).toBe(`full-${created.metadata.uid!.replace(/-/g, '').slice(0, 12)}`);
    expect(pod.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'skillpod', 'skillpod.io/run': 'full', 'skillpod.io/run-uid': created.metadata.uid });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'AgentRun', name: 'full', uid: created.metadata.uid, controller: true });
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['skillpod-install', 'skill-ar-fetch', 'skill-ar-kubectl']);
    expect(await grantsOf(ns, childName)).toEqual({ serviceAccount: 200, role: 200, roleBinding: 200, networkPolicy: 200 });

    let run = await getRun(ns, 'full');
    expect(run.status).toMatchObject({ phase: 'Pending', podName: childName, serviceAccountName: childName });
    expect(run.status?.startTime).toBeTruthy();
    // Exactly the pack's rules, in this namespace only (the authorizer's RBAC cache is a moment behind the writes).
    await eventually(async () => expect(await can(sa(run), 'list', 'pods', ns)).toBe(true));
    expect(await can(sa(run), 'delete', 'pods', ns)).toBe(false);
    expect(await can(sa(run), 'list', 'pods', other)).toBe(false);
    expect(await can(sa(run), 'get', 'secrets', ns)).toBe(false);

    await setPodStatus(ns, childName, 'Running', running);
    run = await eventually(async () => {
      const r = await getRun(ns, 'full');
      expect(r.status?.phase).toBe('Running');
      expect(condition(r, 'Ready')).toMatchObject({ status: 'True', observedGeneration: r.metadata.generation });
      return r;
    });
    expect(run.status?.skills).toEqual([
      { name: 'ar-kubectl', enabled: true, ready: true, rbac: 'Granted' },
      { name: 'ar-fetch', enabled: true, ready: true, rbac: 'None' },
    ]);

    // Switch the kubectl skill off: rules revoked, gate closed; then on again.
    await patchRun(ns, 'full', [{ op: 'replace', path: '/spec/skills/0/enabled', value: false }]);
    await eventually(async () => {
      expect(await can(sa(run), 'list', 'pods', ns)).toBe(false);
      const p = await core.readNamespacedPod({ namespace: ns, name: childName });
      expect(p.metadata?.annotations?.['skillpod.io/disabled-skills']).toBe('ar-kubectl');
      expect((await getRun(ns, 'full')).status?.skills?.[0]).toMatchObject({ name: 'ar-kubectl', enabled: false, rbac: 'Revoked' });
    }, 10_000);
    await patchRun(ns, 'full', [{ op: 'replace', path: '/spec/skills/0/enabled', value: true }]);
    await eventually(async () => {
      expect(await can(sa(run), 'list', 'pods', ns)).toBe(true);
      const p = await core.readNamespacedPod({ namespace: ns, name: childName });
      expect(p.metadata?.annotations?.['skillpod.io/disabled-skills']).toBe('');
      expect((await getRun(ns, 'full')).status?.skills?.[0]).toMatchObject({ rbac: 'Granted' });
    }, 10_000);

    // The agent ends while its sidecars linger: the run succeeds with its result, RBAC and the ServiceAccount
    // vanish, and the NetworkPolicy denies everything until the pod has ended (never a pod without one).
    await setPodStatus(ns, childName, 'Running', exited(0, 'all done'));
    await eventually(async () => {
      const r = await getRun(ns, 'full');
      expect(r.status).toMatchObject({ phase: 'Succeeded', result: 'all done' });
      expect(condition(r, 'Succeeded')).toMatchObject({ status: 'True', reason: 'AgentSucceeded' });
      expect(r.status?.completionTime).toBeTruthy();
      expect(await grantsOf(ns, childName)).toEqual({ ...GRANTS_GONE, networkPolicy: 200 });
      const isolation = await networking.readNamespacedNetworkPolicy({ namespace: ns, name: childName });
      expect(isolation.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'], podSelector: { matchLabels: { 'skillpod.io/run-uid': run.metadata?.uid } } });
      expect(isolation.spec?.egress ?? []).toEqual([]);
      expect(isolation.spec?.ingress ?? []).toEqual([]);
    }, 10_000);
    expect(await can(sa(run), 'list', 'pods', ns)).toBe(false);
    // The pod ends: the NetworkPolicy goes too; the pod stays for kubectl logs.
    await setPodStatus(ns, childName, 'Succeeded', exited(0, 'all done'));
    await eventually(async () => expect(await grantsOf(ns, childName)).toEqual(GRANTS_GONE), 10_000);
    expect(await statusCode(core.readNamespacedPod({ namespace: ns, name: childName }))).toBe(200);

    // Deleting the run leaves nothing behind (the garbage collector follows the owner references).
    await deleteRun(ns, 'full');
    await eventually(async () => {
      expect(await statusCode(core.readNamespacedPod({ namespace: ns, name: childName }))).toBe(404);
      expect(await statusCode(core.readNamespacedConfigMap({ namespace: ns, name: childName }))).toBe(404);
    }, 60_000);
  });

  it('fails with the agent\'s exit code and keeps its message', async () => {
    await createRun(ns, 'fails', { skills: [{ name: 'ar-fetch' }] });
    const pod = await podOf(ns, 'fails');
    await setPodStatus(ns, pod.metadata!.name!, 'Failed', exited(2, 'could not do it'));
    await eventually(async () => {
      const r = await getRun(ns, 'fails');
      expect(r.status).toMatchObject({ phase: 'Failed', result: 'could not do it' });
      expect(condition(r, 'Succeeded')).toMatchObject({ status: 'False', reason: 'AgentFailed', message: 'the agent exited with code 2' });
    });
  });

  it('waits in Pending for a missing pack, naming it, and starts once the pack is Ready', async () => {
    await createRun(ns, 'waits', { skills: [{ name: 'ar-late' }] });
    await eventually(async () => {
      const r = await getRun(ns, 'waits');
      expect(r.status?.phase).toBe('Pending');
      expect(condition(r, 'SkillPacksReady')).toMatchObject({ status: 'False', reason: 'SkillPackNotFound' });
      expect(condition(r, 'SkillPacksReady')?.message).toContain('ar-late');
    });
    expect((await getRun(ns, 'waits')).status?.podName).toBeUndefined();
    await applyPack('ar-late');
    const pod = await podOf(ns, 'waits');
    expect(pod.spec?.initContainers?.map((c) => c.name)).toContain('skill-ar-late');
  });

  it('fails with PodLost when the pod of an unfinished run vanishes', async () => {
    await createRun(ns, 'lost', { skills: [{ name: 'ar-fetch' }] });
    const pod = await podOf(ns, 'lost');
    await core.deleteNamespacedPod({ namespace: ns, name: pod.metadata!.name!, gracePeriodSeconds: 0 });
    await eventually(async () => {
      const r = await getRun(ns, 'lost');
      expect(r.status?.phase).toBe('Failed');
      expect(condition(r, 'Succeeded')).toMatchObject({ status: 'False', reason: 'PodLost' });
    });
    // Never a second pod.
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'skillpod.io/run=lost' });
    expect(pods.items).toHaveLength(0);
  });

  it('times out a run whose pod is never scheduled, and deletes that pod', async () => {
    await createRun(ns, 'slow', { skills: [{ name: 'ar-fetch' }], timeoutSeconds: 2 });
    const pod = await podOf(ns, 'slow');
    await eventually(async () => {
      const r = await getRun(ns, 'slow');
      expect(condition(r, 'Succeeded')).toMatchObject({ status: 'False', reason: 'Timeout' });
      expect(await statusCode(core.readNamespacedPod({ namespace: ns, name: pod.metadata!.name! }))).toBe(404);
      expect(await grantsOf(ns, pod.metadata!.name!)).toEqual(GRANTS_GONE);
    }, 20_000);
  });

  it('fails a run whose skill sidecar cannot start, naming the skill', async () => {
    await createRun(ns, 'badskill', { skills: [{ name: 'ar-kubectl' }] });
    const pod = await podOf(ns, 'badskill');
    await setPodStatus(ns, pod.metadata!.name!, 'Pending', { waiting: { reason: 'PodInitializing' } }, {
      notReady: ['ar-kubectl'], sidecar: { 'ar-kubectl': { state: { waiting: { reason: 'ImagePullBackOff', message: 'image not found' } } } },
    });
    await eventually(async () => {
      const r = await getRun(ns, 'badskill');
      expect(condition(r, 'Succeeded')).toMatchObject({ status: 'False', reason: 'SkillNotReady' });
      expect(condition(r, 'Succeeded')?.message).toContain('skill ar-kubectl cannot start: ImagePullBackOff');
    });
    // A kubelet that kept retrying the pull could start the agent after the run is over: the pod is ended, and its
    // NetworkPolicy stays (deny-all) until the pod is gone.
    await eventually(async () => {
      expect(await statusCode(core.readNamespacedPod({ namespace: ns, name: pod.metadata!.name! }))).toBe(404);
      expect(await grantsOf(ns, pod.metadata!.name!)).toEqual(GRANTS_GONE);
    }, 20_000);
  });

  it('deletes a finished run after ttlSecondsAfterFinished', async () => {
    await createRun(ns, 'ttl', { skills: [{ name: 'ar-fetch' }], ttlSecondsAfterFinished: 1 });
    const pod = await podOf(ns, 'ttl');
    await setPodStatus(ns, pod.metadata!.name!, 'Succeeded', exited(0, 'ok'));
    await eventually(async () => expect(await statusCode(getRun(ns, 'ttl'))).toBe(404), 20_000);
  });

  it('reports a skill added after the pod exists without giving it a sidecar or grants', async () => {
    await createRun(ns, 'added', { skills: [{ name: 'ar-fetch' }] });
    await podOf(ns, 'added');
    await patchRun(ns, 'added', [{ op: 'add', path: '/spec/skills/-', value: { name: 'ar-kubectl' } }]);
    await eventually(async () => {
      const r = await getRun(ns, 'added');
      expect(condition(r, 'SkillsInPod')).toMatchObject({ status: 'False', reason: 'SkillNotInPod' });
      expect(await can(sa(r), 'list', 'pods', ns)).toBe(false);
    });
  });

  it('grants cluster rules with a finalizer, and removes them when the run is deleted', async () => {
    // Eventually: the API server may not yet act on the admission policy that beforeAll's install widened.
    await eventually(() => applyPack('ar-nodes', { rbac: { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] } }));
    await createRun(ns, 'cluster', { skills: [{ name: 'ar-nodes' }] });
    const pod = await podOf(ns, 'cluster');
    const run = await getRun(ns, 'cluster');
    expect(run.metadata.finalizers).toContain('skillpod.io/cluster-grants');
    const clusterName = `skillpod:${ns}:${pod.metadata!.name}`;
    const role = await rbac.readClusterRole({ name: clusterName });
    expect(role.metadata?.labels).toMatchObject({ 'skillpod.io/run-namespace': ns, 'skillpod.io/run': 'cluster' });
    await eventually(async () => expect(await can(sa(run), 'list', 'nodes', '')).toBe(true));
    await deleteRun(ns, 'cluster');
    await eventually(async () => {
      expect(await statusCode(rbac.readClusterRole({ name: clusterName }))).toBe(404);
      expect(await statusCode(rbac.readClusterRoleBinding({ name: clusterName }))).toBe(404);
      expect(await statusCode(getRun(ns, 'cluster'))).toBe(404);
    }, 20_000);
  });

  it('a run with cluster rules writes its finalizer and status without a conflict, from creation to its end', async () => {
    // Each pass that adds or removes the finalizer used to send the status with the resourceVersion from before that
    // patch: a 409 and a reconcile error when the pod was created, and again when the run ended.
    const conflicts = async () => {
      const { samples } = await scrape(operator.url);
      return { conflicts: value(samples, 'rest_client_requests_total', { code: '409' }),
        errors: value(samples, 'controller_runtime_reconcile_errors_total', { controller: 'agentrun' }) };
    };
    await eventually(() => applyPack('ar-nodes', { rbac: { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] } }));
    const before = await conflicts();
    await createRun(ns, 'no-conflict', { skills: [{ name: 'ar-nodes' }] });
    const pod = await podOf(ns, 'no-conflict');
    expect((await getRun(ns, 'no-conflict')).metadata.finalizers).toContain('skillpod.io/cluster-grants');
    await setPodStatus(ns, pod.metadata!.name!, 'Running', exited(0, 'done'));
    await eventually(async () => {
      const r = await getRun(ns, 'no-conflict');
      expect(condition(r, 'GrantsRevoked')?.status).toBe('True');
      expect(r.metadata.finalizers ?? []).not.toContain('skillpod.io/cluster-grants');
    }, 20_000);
    expect(await conflicts()).toEqual(before);
  });

  it('catches up on a run that ended while the operator was down', async () => {
    await createRun(ns, 'offline', { skills: [{ name: 'ar-kubectl' }] });
    const pod = await podOf(ns, 'offline');
    await eventually(async () => expect((await grantsOf(ns, pod.metadata!.name!)).role).toBe(200));
    await operator.stop();
    await setPodStatus(ns, pod.metadata!.name!, 'Succeeded', exited(0, 'done offline'));
    operator = await startOperator([], {
      grantPolicy: () => ({ ...DEFAULT_GRANT_POLICY, clusterRules: CLUSTER_GRANTABLE }),
    });
    await eventually(async () => {
      expect((await getRun(ns, 'offline')).status).toMatchObject({ phase: 'Succeeded', result: 'done offline' });
      expect(await grantsOf(ns, pod.metadata!.name!)).toEqual(GRANTS_GONE);
    }, 20_000);
  });

  it('sweeps cluster-scoped grants whose run is gone, and keeps those of live runs', async () => {
    const labels = (run: string, uid: string) => ({ 'app.kubernetes.io/managed-by': 'skillpod', 'skillpod.io/run': run,
      'skillpod.io/run-uid': uid, 'skillpod.io/run-namespace': ns });
    const live = await createRun(ns, 'sweep-live', { skills: [{ name: 'ar-fetch' }] });
    await rbac.createClusterRole({ body: { metadata: { name: `skillpod:${ns}:orphan`, labels: labels('gone', '00000000-dead-0000-0000-000000000000') }, rules: [] } });
    await rbac.createClusterRole({ body: { metadata: { name: `skillpod:${ns}:live`, labels: labels('sweep-live', live.metadata.uid!) }, rules: [] } });
    await operator.stop();
    operator = await startOperator([], { grantPolicy: () => ({ ...DEFAULT_GRANT_POLICY, clusterRules: CLUSTER_GRANTABLE }) });
    await eventually(async () => expect(await statusCode(rbac.readClusterRole({ name: `skillpod:${ns}:orphan` }))).toBe(404), 20_000);
    expect(await statusCode(rbac.readClusterRole({ name: `skillpod:${ns}:live` }))).toBe(200);
    await rbac.deleteClusterRole({ name: `skillpod:${ns}:live` });
  });
});
