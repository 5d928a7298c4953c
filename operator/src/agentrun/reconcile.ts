// The AgentRun controller: read the world, plan (plan.ts, pure), carry the plan out. Level-triggered and
// idempotent: running it twice, or after a crash at any line, converges on the same state.
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { AGENTRUN, API_VERSION, FIELD_MANAGER, parseAgentRun, type AgentRun } from '../api/index.ts';
import {
  ANNOTATION_DISABLED_SKILLS, ANNOTATION_GRANTS, EMPTY_SNAPSHOT, LABEL_RUN_UID, buildRunObjects, parseGrantSnapshot,
  type APIServerEndpoint, type GrantSnapshot, type RunObjects,
} from '../builders/index.ts';
import type { Settings } from '../config/settings.ts';
import type { EventRecorder } from '../events.ts';
import { agentEgressViolations } from '../policy/agent-egress.ts';
import type { GrantPolicy } from '../policy/grant-policy.ts';
import { classifyError, isAlreadyExists, isNotFound, type Informer, type KubeHttp, type KubeObject, type Logger, type Reconciler } from '../runtime/index.ts';
import { skillPackReadiness } from '../skillpack/readiness.ts';
import { setCondition, toRfc3339 } from '../status/conditions.ts';
import type { Applier } from './kube-objects.ts';
import { planRun, type PackView, type Plan } from './plan.ts';

export const FINALIZER = 'skillpod.io/cluster-grants';

export interface AgentRunControllerDeps {
  runs: { store: Informer<KubeObject>['store'] };
  packs: { store: Informer<KubeObject>['store'] };
  pods: { store: Informer<KubeObject>['store'] };
  http: Pick<KubeHttp, 'request'>;
  applier: Applier;
  events: EventRecorder;
  settings: Settings;
  grantPolicy: () => GrantPolicy;
  apiServer: () => APIServerEndpoint[];
  now?: () => Date;
}

export const runPath = (namespace: string, name: string) => `/apis/${API_VERSION}/namespaces/${namespace}/${AGENTRUN.plural}/${name}`;

export function agentRunReconciler(deps: AgentRunControllerDeps): Reconciler {
  const now = deps.now ?? (() => new Date());
  return async ({ namespace, name, log }) => {
    const raw = deps.runs.store.get(namespace, name) as (KubeObject & AgentRun) | undefined;
    if (!raw) return; // deleted: owner references and the finalizer took care of its objects
    const parsed = parseAgentRun(raw);
    if (!parsed.ok) return reportInvalid(deps, raw, parsed.error, now());
    const run = parsed.value;
    if (run.metadata.deletionTimestamp) return finalize(deps, run, log);

    const packs = viewPacks(deps, run);
    const usable = new Map([...packs].flatMap(([n, v]) => (v.ready && v.pack ? [[n, v.pack] as const] : [])));
    const { pod, podLost } = await findPod(deps, run);
    const objects = buildRunObjects({ run, packs: usable, settings: deps.settings, snapshot: snapshotOf(pod, log), apiServer: deps.apiServer() });
    // The admission policy refuses such a run; this holds one created before the grant policy was narrowed.
    const egress = agentEgressViolations(run.spec.agent?.egress, deps.grantPolicy());
    if (egress.length > 0 && !pod) {
      objects.podProblem = { reason: 'AgentEgressNotAllowed', message: `spec.agent.egress goes beyond the grant policy's agentEgress: ${egress.join('; ')}` };
      delete objects.pod;
    }
    const plan = planRun({ run, packs, grants: objects.skills, podProblem: objects.podProblem, pod, podLost, now: now(), podRetention: deps.settings.podRetention });

    // Nothing is granted while the run waits for its packs: grants exist only with (or just before) the pod.
    if (plan.keepGrants && (pod || plan.createPod)) await refusalReported(deps, raw, 'GrantRefused', 'the run\'s permissions', () => grant(deps, run, objects));
    else if (!plan.keepGrants) await revoke(deps, run, objects, plan.isolatePod);
    if (plan.createPod && objects.pod) {
      const podSpec = objects.pod;
      const created = await refusalReported(deps, raw, 'PodRefused', 'the run\'s pod', () => createPodOnce(deps, run, podSpec));
      if (!created) return { requeue: true };
      Object.assign(plan.status, { podName: created.metadata?.name, serviceAccountName: objects.serviceAccount.metadata?.name, startTime: toRfc3339(now()) });
      deps.events.record(run, 'Normal', 'PodCreated', `created pod ${created.metadata?.name}`);
    } else if (pod && plan.keepGrants) {
      await syncGate(deps, pod, plan.disabledSkills);
    }
    if (plan.deletePod && pod) await deps.applier.delete('v1', 'Pod', run.metadata.namespace, pod.metadata?.name ?? '');
    await writeStatus(deps, raw, plan);
    for (const e of plan.events) deps.events.record(run, e.type, e.reason, e.message);
    if (plan.deleteRun) {
      log.info('ttlSecondsAfterFinished reached: deleting the run');
      await deps.http.request({ method: 'DELETE', path: runPath(namespace ?? '', name), query: { propagationPolicy: 'Background' } })
        .catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      return;
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  };
}

/** Each skill's pack as usable or not, with the reason, from the cache and the same check the pack controller makes. */
function viewPacks(deps: AgentRunControllerDeps, run: AgentRun): Map<string, PackView> {
  const views = new Map<string, PackView>();
  for (const skill of run.spec.skills ?? []) {
    const object = deps.packs.store.get(undefined, skill.name);
    if (!object) {
      views.set(skill.name, { ready: false, reason: 'NotFound', message: `SkillPack ${skill.name} not found` });
      continue;
    }
    const { pack, condition } = skillPackReadiness(object, deps.grantPolicy(), object.metadata?.generation);
    views.set(skill.name, { ...(pack ? { pack } : {}), ready: condition.status === 'True', reason: condition.reason,
      message: condition.status === 'True' ? '' : `SkillPack ${skill.name} is not Ready (${condition.reason}): ${condition.message}` });
  }
  return views;
}

/** The pod from the cache; a pod missing from the cache of a started run is confirmed gone by a direct read. */
async function findPod(deps: AgentRunControllerDeps, run: AgentRun): Promise<{ pod?: V1Pod; podLost: boolean }> {
  const podName = run.status?.podName;
  if (!podName) return { podLost: false };
  const cached = deps.pods.store.get(run.metadata.namespace, podName) as V1Pod | undefined;
  if (cached) return { pod: cached, podLost: false };
  if (run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed') return { podLost: false };
  try {
    return { pod: await deps.http.request<V1Pod>({ path: `/api/v1/namespaces/${run.metadata.namespace}/pods/${podName}` }), podLost: false };
  } catch (err) {
    if (isNotFound(err)) return { podLost: true };
    throw err;
  }
}

function snapshotOf(pod: V1Pod | undefined, log: Logger): GrantSnapshot | undefined {
  if (!pod) return undefined;
  const parsed = parseGrantSnapshot(pod.metadata?.annotations?.[ANNOTATION_GRANTS]);
  if (parsed.ok) return parsed.snapshot;
  log.warn({ pod: pod.metadata?.name, error: parsed.error }, 'grant snapshot unreadable: granting nothing');
  return EMPTY_SNAPSHOT;
}

/**
 * ServiceAccount, ConfigMap, RBAC of the granted skills, NetworkPolicy; the finalizer first if cluster rules come.
 * Independent writes go at once; a binding only after its role (the API server checks a binding against the
 * rules of the role it names). Cluster-scoped grants exist only on runs with the finalizer (it is set before they
 * are made and released after they are gone), so a run without it has none to delete: no requests for them.
 */
async function grant(deps: AgentRunControllerDeps, run: AgentRun, o: RunObjects): Promise<void> {
  if (o.clusterRole && !run.metadata.finalizers?.includes(FINALIZER)) await setFinalizer(deps, run, true);
  const ns = run.metadata.namespace;
  const { role, roleBinding, clusterRole, clusterRoleBinding } = o;
  const mayHoldClusterGrants = run.metadata.finalizers?.includes(FINALIZER) ?? false;
  await all([
    deps.applier.apply(o.serviceAccount),
    deps.applier.apply(o.configMap),
    role && roleBinding
      ? deps.applier.apply(role).then(() => deps.applier.apply(roleBinding))
      : all([
        deps.applier.delete('rbac.authorization.k8s.io/v1', 'RoleBinding', ns, o.run.childName),
        deps.applier.delete('rbac.authorization.k8s.io/v1', 'Role', ns, o.run.childName),
      ]),
    clusterRole && clusterRoleBinding
      ? deps.applier.apply(clusterRole).then(() => deps.applier.apply(clusterRoleBinding))
      : mayHoldClusterGrants ? deleteClusterGrants(deps, o.run.clusterChildName) : undefined,
    deps.applier.apply(o.networkPolicy),
  ]);
}

/**
 * Every run-scoped grant goes when the run ends, all at once: RBAC, the ServiceAccount (its tokens die with it),
 * egress. The NetworkPolicy turns deny-all while anything of the pod may still run, and goes once the pod has ended.
 */
async function revoke(deps: AgentRunControllerDeps, run: AgentRun, o: RunObjects, isolatePod: boolean): Promise<void> {
  const ns = run.metadata.namespace;
  const networkPolicy = isolatePod
    ? deps.applier.apply(o.isolationPolicy)
    : deps.applier.delete('networking.k8s.io/v1', 'NetworkPolicy', ns, o.run.childName);
  if (run.status?.conditions?.some((c) => c.type === 'GrantsRevoked' && c.status === 'True')) return all([networkPolicy]);
  const mayHoldClusterGrants = run.metadata.finalizers?.includes(FINALIZER) ?? false;
  await all([
    deps.applier.delete('rbac.authorization.k8s.io/v1', 'RoleBinding', ns, o.run.childName),
    deps.applier.delete('rbac.authorization.k8s.io/v1', 'Role', ns, o.run.childName),
    mayHoldClusterGrants ? deleteClusterGrants(deps, o.run.clusterChildName) : undefined,
    deps.applier.delete('v1', 'ServiceAccount', ns, o.run.childName),
    networkPolicy,
  ]);
  if (run.metadata.finalizers?.includes(FINALIZER)) await setFinalizer(deps, run, false);
}

function deleteClusterGrants(deps: AgentRunControllerDeps, name: string): Promise<void> {
  return all([
    deps.applier.delete('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined, name),
    deps.applier.delete('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, name),
  ]);
}

/** Waits for every write (none is left running behind a retry), then throws the first failure. */
async function all(writes: Array<Promise<unknown> | undefined>): Promise<void> {
  const failed = (await Promise.allSettled(writes.filter((w) => w !== undefined))).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A run being deleted: only the cluster-scoped grants need us (namespaced objects go with their owner). */
async function finalize(deps: AgentRunControllerDeps, run: AgentRun, log: Logger): Promise<void> {
  if (!run.metadata.finalizers?.includes(FINALIZER)) return;
  const ref = buildRunObjects({ run, packs: new Map(), settings: deps.settings }).run;
  await deleteClusterGrants(deps, ref.clusterChildName);
  await setFinalizer(deps, run, false);
  log.info('cluster-scoped grants removed; finalizer released');
}

async function setFinalizer(deps: AgentRunControllerDeps, run: AgentRun, present: boolean): Promise<void> {
  const others = (run.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  const finalizers = present ? [...others, FINALIZER] : others;
  try {
    await deps.http.request({
      method: 'PATCH', path: runPath(run.metadata.namespace ?? '', run.metadata.name ?? ''), query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers, resourceVersion: run.metadata.resourceVersion } },
    });
  } catch (err) {
    if (!(isNotFound(err) && !present)) throw err;
  }
  run.metadata.finalizers = finalizers;
}

/**
 * At most one pod per run, ever: the run is re-read from the API server (not the cache) to be sure no pod was
 * recorded yet, and the pod's name is fixed by the run's UID, so a second create answers 409 and is adopted.
 */
async function createPodOnce(deps: AgentRunControllerDeps, run: AgentRun, pod: V1Pod): Promise<V1Pod | undefined> {
  const ns = run.metadata.namespace ?? '';
  const fresh = await deps.http.request<AgentRun>({ path: runPath(ns, run.metadata.name ?? '') });
  if (fresh.metadata.uid !== run.metadata.uid || fresh.status?.podName) return undefined;
  try {
    return await deps.http.request<V1Pod>({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, query: { fieldManager: FIELD_MANAGER }, body: pod });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await deps.http.request<V1Pod>({ path: `/api/v1/namespaces/${ns}/pods/${pod.metadata?.name}` });
    if (existing.metadata?.labels?.[LABEL_RUN_UID] !== run.metadata.uid) {
      throw new Error(`pod ${ns}/${pod.metadata?.name} exists but does not belong to AgentRun ${ns}/${run.metadata.name}`, { cause: err });
    }
    return existing;
  }
}

/** The executors' switch-off gate: the pod annotation the downward API file mirrors. */
async function syncGate(deps: AgentRunControllerDeps, pod: V1Pod, disabled: string[]): Promise<void> {
  const value = disabled.join(',');
  if ((pod.metadata?.annotations?.[ANNOTATION_DISABLED_SKILLS] ?? '') === value) return;
  await deps.http.request({
    method: 'PATCH', path: `/api/v1/namespaces/${pod.metadata?.namespace}/pods/${pod.metadata?.name}`,
    query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json', body: { metadata: { annotations: { [ANNOTATION_DISABLED_SKILLS]: value } } },
  });
}

/** Written only when it changed; the resourceVersion turns a stale read into a 409 and a retry. */
async function writeStatus(deps: AgentRunControllerDeps, raw: KubeObject & AgentRun, plan: Plan): Promise<void> {
  const status = { ...plan.status };
  if (!plan.keepGrants) {
    status.conditions = setCondition(status.conditions,
      { type: 'GrantsRevoked', status: 'True', reason: 'RunFinished', message: 'the run\'s ServiceAccount and RBAC are deleted; its NetworkPolicy denies all traffic until the pod has ended, then goes', observedGeneration: raw.metadata.generation },
      deps.now?.() ?? new Date());
  }
  if (isDeepStrictEqual(status, raw.status ?? {})) return;
  await deps.http.request({
    method: 'PATCH', path: `${runPath(raw.metadata.namespace ?? '', raw.metadata.name ?? '')}/status`,
    query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json', body: { metadata: { resourceVersion: raw.metadata.resourceVersion }, status },
  });
}

async function reportInvalid(deps: AgentRunControllerDeps, raw: KubeObject & AgentRun, error: string, now: Date): Promise<void> {
  if (await setNotReady(deps, raw, 'InvalidSpec', error, now)) deps.events.record(raw, 'Warning', 'InvalidSpec', error);
}

/**
 * A write the API server refuses for a reason only a person can fix (a quota, Pod Security, RBAC the operator
 * lacks, a webhook): said on the run as Ready=False with the server's message, then retried with backoff as any
 * failure (the quota may free up). Without this the run would sit in Pending with nothing to tell why.
 */
async function refusalReported<T>(deps: AgentRunControllerDeps, raw: KubeObject & AgentRun, reason: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const info = classifyError(err);
    if (info.kind === 'Forbidden' || info.kind === 'Invalid') {
      const message = `the API server refused ${what}: ${info.message}`;
      if (await setNotReady(deps, raw, reason, message, deps.now?.() ?? new Date())) deps.events.record(raw, 'Warning', reason, message);
    }
    throw err;
  }
}

/** Sets Ready=False with this reason and message; false when it already said so (nothing written). */
async function setNotReady(deps: AgentRunControllerDeps, raw: KubeObject & AgentRun, reason: string, message: string, now: Date): Promise<boolean> {
  const conditions = setCondition(raw.status?.conditions,
    { type: 'Ready', status: 'False', reason, message: message.slice(0, 1024), observedGeneration: raw.metadata.generation }, now);
  if (isDeepStrictEqual(conditions, raw.status?.conditions)) return false;
  await deps.http.request({
    method: 'PATCH', path: `${runPath(raw.metadata.namespace ?? '', raw.metadata.name ?? '')}/status`,
    query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json', body: { status: { conditions, observedGeneration: raw.metadata.generation } },
  });
  return true;
}
