// The pod builder against the real API server: every object of a representative run is accepted (server-side
// dry run, strict field validation) in a namespace that enforces the `restricted` Pod Security Standard, and the
// API server keeps what makes the pod work (native sidecars, the projected token, the downward API file).
import { randomUUID } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiException, CoreV1Api, NetworkingV1Api, NodeV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRunObjects, type RunObjects } from '../../operator/src/agentrun/decide/render.ts';
import { agentRun, apiServer, packs, representativeRun, settings } from '../../operator/src/builders/testdata/fixtures.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';

const kc = testCluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const net = kc.makeApiClient(NetworkingV1Api);
const node = kc.makeApiClient(NodeV1Api);
const dry = { dryRun: 'All', fieldValidation: 'Strict' } as const;

let ns: string;
let objects: RunObjects;
let createdRuntimeClass = false;

beforeAll(async () => {
  ns = await testCluster.createNamespace('pod-security', {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  });
  // The RuntimeClass admission plugin refuses a pod naming a RuntimeClass that does not exist.
  const runtimeClassName = representativeRun.spec.runtimeClassName!;
  createdRuntimeClass = (await refusal(node.createRuntimeClass({ body: { metadata: { name: runtimeClassName }, handler: 'runsc' } }))) === undefined;
  const run = structuredClone(representativeRun);
  run.metadata = { ...run.metadata, namespace: ns, uid: randomUUID() };
  objects = buildRunObjects({ run, packs, settings, apiServer });
  // The ServiceAccount admission plugin refuses a pod whose ServiceAccount does not exist: create it for real.
  // Without its owner reference: the run is not real, and the garbage collector would delete a dependent of a
  // missing owner as soon as it knows the AgentRun kind.
  const serviceAccount = { ...objects.serviceAccount, metadata: { ...objects.serviceAccount.metadata, ownerReferences: undefined } };
  await core.createNamespacedServiceAccount({ namespace: ns, body: serviceAccount, fieldValidation: 'Strict' });
  // That plugin reads ServiceAccounts from its own cache, which may lag a moment behind the create.
  await eventually(async () => {
    const problem = await refusal(core.createNamespacedPod({ namespace: ns, body: objects.pod!, dryRun: 'All' }));
    if (problem?.includes('error looking up service account')) throw new Error(problem);
  });
});

afterAll(async () => {
  await testCluster.deleteNamespace(ns);
  if (createdRuntimeClass) await node.deleteRuntimeClass({ name: representativeRun.spec.runtimeClassName! });
});

async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (err instanceof ApiException) return `${err.code} ${String(err.body)}`;
    throw err;
  }
}

describe('objects of a run on the real API server', () => {
  it('the pod passes the restricted Pod Security Standard, and keeps its sidecars, token and gate', async () => {
    const created = await core.createNamespacedPod({ namespace: ns, body: objects.pod!, ...dry });
    const init = created.spec?.initContainers ?? [];
    expect(init.map((c) => c.name)).toEqual(['skillpod-install', 'skill-git', 'skill-helm', 'skill-kubectl']);
    expect(init.slice(1).every((c) => c.restartPolicy === 'Always')).toBe(true);
    expect(created.spec?.automountServiceAccountToken).toBe(false);
    // No token was injected anywhere by the ServiceAccount admission plugin.
    expect(created.spec?.volumes?.filter((v) => v.projected).map((v) => v.name)).toEqual(['skillpod-token']);
    const agent = created.spec?.containers.find((c) => c.name === 'agent');
    expect(agent?.volumeMounts?.some((m) => m.mountPath.startsWith('/var/run/secrets'))).toBe(false);
    expect(created.metadata?.annotations?.['skillpod.io/disabled-skills']).toBe('helm');
  });

  it('a pod without skills or placement passes as well', async () => {
    const run = agentRun({}, { name: 'bare', namespace: ns, uid: randomUUID() });
    const bare = buildRunObjects({ run, packs: new Map(), settings });
    // No owner reference (the run is not real, the garbage collector would take it); the ServiceAccount
    // admission plugin's cache may lag the create a moment.
    await core.createNamespacedServiceAccount({ namespace: ns, body: { ...bare.serviceAccount, metadata: { ...bare.serviceAccount.metadata, ownerReferences: undefined } } });
    await eventually(() => expect(core.createNamespacedPod({ namespace: ns, body: bare.pod!, ...dry })).resolves.toBeDefined());
  });

  it.each<[string, (pod: V1Pod) => void]>([
    ['a sidecar without seccomp', (p) => { delete p.spec!.initContainers![1]!.securityContext!.seccompProfile; delete p.spec!.securityContext!.seccompProfile; }],
    ['an agent keeping capabilities', (p) => { p.spec!.containers[0]!.securityContext!.capabilities = {}; }],
    ['the install container allowed to escalate', (p) => { p.spec!.initContainers![0]!.securityContext!.allowPrivilegeEscalation = true; }],
  ])('is refused with %s (the namespace really enforces restricted)', async (_what, spoil) => {
    const pod = structuredClone(objects.pod!);
    spoil(pod);
    expect(await refusal(core.createNamespacedPod({ namespace: ns, body: pod, ...dry }))).toMatch(/^403 .*violates PodSecurity.*restricted/);
  });

  it('the ConfigMap, NetworkPolicy, Role and RoleBinding are valid', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: objects.configMap, ...dry });
    await net.createNamespacedNetworkPolicy({ namespace: ns, body: objects.networkPolicy, ...dry });
    await rbac.createNamespacedRole({ namespace: ns, body: objects.role!, ...dry });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: objects.roleBinding!, ...dry });
  });

  it('the ClusterRole and ClusterRoleBinding are valid', async () => {
    await rbac.createClusterRole({ body: objects.clusterRole!, ...dry });
    await rbac.createClusterRoleBinding({ body: objects.clusterRoleBinding!, ...dry });
  });
});
