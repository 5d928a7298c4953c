// Small helpers for integration tests that act on AgentRuns, SkillPacks and pods through the real API server.
import {
  ApiException, AuthorizationV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, RbacAuthorizationV1Api, type KubeConfig,
  type V1ContainerStatus, type V1Pod,
} from '@kubernetes/client-node';
import type { AgentRun, AgentRunInput, SkillPackInput } from '../../operator/src/api/index.ts';
import { testCluster } from './context.ts';
import { eventually } from './eventually.ts';

const GROUP = { group: 'skillpod.io', version: 'v1alpha1' };

export function clients(kc: KubeConfig = testCluster.kubeConfig()) {
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), authz: kc.makeApiClient(AuthorizationV1Api) };
}

export async function statusCode(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

export async function applyPack(name: string, spec: Partial<SkillPackInput['spec']> = {}): Promise<void> {
  const { custom } = clients();
  const body = { apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
    spec: { description: `test pack ${name}`, image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }], ...spec } };
  await custom.deleteClusterCustomObject({ ...GROUP, plural: 'skillpacks', name }).catch(() => undefined);
  await eventually(async () => expect404(custom.getClusterCustomObject({ ...GROUP, plural: 'skillpacks', name })));
  await custom.createClusterCustomObject({ ...GROUP, plural: 'skillpacks', body });
}

async function expect404(p: Promise<unknown>): Promise<void> {
  const code = await statusCode(p);
  if (code !== 404) throw new Error(`expected 404, got ${code}`);
}

export async function deletePack(name: string): Promise<void> {
  await clients().custom.deleteClusterCustomObject({ ...GROUP, plural: 'skillpacks', name }).catch(() => undefined);
}

export async function createRun(namespace: string, name: string, spec: Partial<AgentRunInput['spec']>, kc?: KubeConfig): Promise<AgentRun> {
  return await clients(kc).custom.createNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, body: {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name }, spec: { task: 'do the thing', agent: { image: 'agent:test' }, ...spec },
  } }) as AgentRun;
}

export async function getRun(namespace: string, name: string): Promise<AgentRun> {
  return await clients().custom.getNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, name }) as AgentRun;
}

export async function patchRun(namespace: string, name: string, ops: object[]): Promise<void> {
  await clients().custom.patchNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, name, body: ops });
}

export async function deleteRun(namespace: string, name: string): Promise<void> {
  await clients().custom.deleteNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace, name });
}

export const condition = (run: AgentRun, type: string) => run.status?.conditions?.find((c) => c.type === type);

/** Waits until the operator created the run's pod and recorded it in the run's status, and returns the pod. */
export async function podOf(namespace: string, name: string): Promise<V1Pod> {
  return await eventually(async () => {
    const r = await getRun(namespace, name);
    if (!r.status?.podName) throw new Error(`AgentRun ${namespace}/${name} has no pod yet: ${JSON.stringify(r.status)}`);
    return await clients().core.readNamespacedPod({ namespace, name: r.status.podName });
  });
}

function containerStatus(name: string, state: V1ContainerStatus['state'], ready: boolean, extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus {
  return { name, image: 'img', imageID: '', ready, restartCount: 0, started: ready, state, ...extra };
}

/**
 * Plays the kubelet (there is none): writes the pod's status. `agent` is the agent's state; every skill sidecar
 * is running and ready unless listed in `notReady`.
 */
export async function setPodStatus(namespace: string, podName: string, phase: string, agent: V1ContainerStatus['state'], options: { notReady?: string[]; sidecar?: Record<string, Partial<V1ContainerStatus>> } = {}): Promise<void> {
  const { core } = clients();
  await eventually(async () => {
    const pod = await core.readNamespacedPod({ namespace, name: podName });
    const now = new Date();
    const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.name.startsWith('skill-'));
    pod.status = {
      phase,
      startTime: now,
      conditions: [],
      initContainerStatuses: [
        containerStatus('skillpod-install', { terminated: { exitCode: 0, reason: 'Completed' } }, false),
        ...sidecars.map((c) => {
          const ready = !(options.notReady ?? []).includes(c.name.slice(6));
          return containerStatus(c.name, { running: { startedAt: now } }, ready, options.sidecar?.[c.name.slice(6)] ?? {});
        }),
      ],
      containerStatuses: agent ? [containerStatus('agent', agent, Boolean(agent.running))] : [],
    };
    await core.replaceNamespacedPodStatus({ namespace, name: podName, body: pod });
  }, 10_000);
}

/** Whether `user` may `verb` `resource` in `namespace`, as the API server's authorizer decides. */
export async function can(user: string, verb: string, resource: string, namespace: string, group = ''): Promise<boolean> {
  const review = await clients().authz.createSubjectAccessReview({ body: {
    spec: { user, groups: user.startsWith('system:serviceaccount:') ? ['system:serviceaccounts', `system:serviceaccounts:${namespace}`] : [],
      resourceAttributes: { namespace, verb, resource, group } },
  } });
  return review.status?.allowed ?? false;
}

/**
 * Every run-scoped grant of a run by its child name, as HTTP statuses (200 present, 404 gone): what must exist while
 * it runs and be gone (GRANTS_GONE) when it ends.
 */
export async function grantsOf(namespace: string, childName: string) {
  const kc = testCluster.kubeConfig();
  const { core } = clients(kc);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  return {
    serviceAccount: await statusCode(core.readNamespacedServiceAccount({ namespace, name: childName })),
    role: await statusCode(rbac.readNamespacedRole({ namespace, name: childName })),
    roleBinding: await statusCode(rbac.readNamespacedRoleBinding({ namespace, name: childName })),
    networkPolicy: await statusCode(networking.readNamespacedNetworkPolicy({ namespace, name: childName })),
  };
}
export const GRANTS_GONE = { serviceAccount: 404, role: 404, roleBinding: 404, networkPolicy: 404 };
