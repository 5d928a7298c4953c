// decide(observed, now) → intent: the whole of what the AgentRun controller decides, as one pure function built
// from small named ones. observe.ts reads the world; act.ts carries the intent out and decides nothing.
//
//   the run's standing ........ outcome.ts  (phase; how it ended; the deadline)
//   what each skill holds ..... holdings.ts (the one answer to "what does a switched-off skill keep": nothing)
//   the objects of the grants . render.ts   (rendered from the holdings by the builders)
//   the status ................ status.ts   (conditions, skills, result)
//   the events ................ events.ts   (transitions only)
//   writes, deletions, timers . here
import { isDeepStrictEqual } from 'node:util';
import { FINALIZER_CLUSTER_GRANTS, isFinishedPhase, ReadyReason, RunCondition, type AgentRun, type AgentRunStatus } from '../../api/index.ts';
import {
  buildIsolationNetworkPolicy, buildPod, EMPTY_SNAPSHOT, podProblem, runRef,
  type PackMap, type PodProblem, type RunRef, type SkillGrant,
} from '../../builders/index.ts';
import { agentEgressViolations } from '../../policy/agent-egress.ts';
import { setCondition, toRfc3339 } from '../../status/conditions.ts';
import { observePod } from '../pod-observation.ts';
import type { PodView } from '../views.ts';
import { transitionEvents } from './events.ts';
import { gateValue, holdsClusterRules, skillHoldings } from './holdings.ts';
import { parseTime, standing, type Standing } from './outcome.ts';
import { renderGrants } from './render.ts';
import { nextStatus, waitingMessage } from './status.ts';
import type { Intent, ObjectRef, Observed, PackView, PlannedEvent } from './types.ts';

export type { Applied, Intent, ObjectRef, Observed, PackView, PlannedEvent } from './types.ts';

export const FINALIZER = FINALIZER_CLUSTER_GRANTS;

const RBAC = 'rbac.authorization.k8s.io/v1';
const NETWORKING = 'networking.k8s.io/v1';

export function decide(observed: Observed, now: Date): Intent {
  const cached = observed.run;
  if (!cached.run) return invalidSpec(cached.metadata, cached.status, cached.invalid, now);
  const run = cached.run;
  if (run.metadata.deletionTimestamp) return finalize(run);
  return decideLive(observed, run, now);
}

function decideLive(observed: Observed, run: AgentRun, now: Date): Intent {
  const { pod, packs } = observed;
  const ref = runRef(run);
  const observation = pod ? observePod(pod) : undefined;
  const where = standing(run, pod, observation, observed.podLost, now);
  const ended = isFinishedPhase(where.phase);
  const usable = usablePacks(packs);
  const holdings = skillHoldings({ run, packs: usable, snapshot: snapshotOf(pod), ended });
  const waitingFor = (run.spec.skills ?? []).filter((s) => !packs.get(s.name)?.ready).map((s) => s.name);
  const problem = waitingFor.length > 0 ? undefined : podBlocker(observed, run, usable);
  const createPod = !ended && !run.status?.podName && !pod && waitingFor.length === 0 && !problem;

  const intent: Intent = { apply: [], delete: [], events: [], deleteRun: false };
  if (ended) revoke(intent, run, ref, lingers(pod, observation?.podEnded));
  else if (pod || createPod) grant(intent, run, ref, holdings, observed, usable);
  if (createPod) {
    intent.createPod = buildPod(ref, run, usable, observed.settings, gateValue(holdings));
  } else if (pod && !ended) {
    const gate = gateValue(holdings);
    if (pod.metadata.gate !== gate) intent.gate = { pod: pod.metadata.name, value: gate };
  }
  if (pod && ended && !pod.metadata.deletionTimestamp && (observed.settings.podRetention === 'delete' || (lingers(pod, observation?.podEnded) && !observation?.agentEnded))) {
    intent.deletePod = pod.metadata.name;
  }

  const next = nextStatus({
    // The pass that creates the pod reports what the next pass would find (the pod starting, every skill in it), so
    // the pod's appearance costs no second status write.
    run, packs, holdings, standing: where, waitingFor, podProblem: problem, hasPod: Boolean(pod) || createPod,
    sidecarsReady: observation?.skillsReady, grantsRevoked: ended, now,
  });
  if (createPod) Object.assign(next, { podName: ref.childName, serviceAccountName: ref.childName, startTime: toRfc3339(now) });
  if (!isDeepStrictEqual(next, run.status ?? {})) intent.status = next;
  intent.events = transitionEvents({ run, next, standing: where, podCreated: createPod ? ref.childName : undefined, waiting: waitingFor.length > 0 ? waitingMessage({ waitingFor, packs }) : '' });
  schedule(intent, run, next, where, now);
  return intent;
}

/** Packs that exist and are Ready, by skill name: the only ones a run may use. */
const usablePacks = (packs: ReadonlyMap<string, PackView>): PackMap =>
  new Map([...packs].flatMap(([name, view]) => (view.ready && view.pack ? [[name, view.pack] as const] : [])));

/** Once the pod exists, its snapshot bounds every grant; an unreadable one grants nothing (fails closed). */
const snapshotOf = (pod: PodView | undefined) => (pod ? (pod.snapshot.ok ? pod.snapshot.snapshot : EMPTY_SNAPSHOT) : undefined);

/**
 * Why the pod cannot be created although every pack is usable: the builders' own check (no agent image, bad
 * settings), or an agent egress beyond the grant policy (the admission policy refuses such a run; this holds one
 * created before the policy was narrowed).
 */
function podBlocker(observed: Observed, run: AgentRun, usable: PackMap): PodProblem | undefined {
  const problem = podProblem(run, usable, observed.settings);
  if (problem) return problem;
  if (observed.pod) return undefined;
  const egress = agentEgressViolations(run.spec.agent?.egress, observed.grantPolicy);
  if (egress.length === 0) return undefined;
  return { reason: ReadyReason.AgentEgressNotAllowed, message: `spec.agent.egress goes beyond the grant policy's agentEgress: ${egress.join('; ')}` };
}

/**
 * A finished run whose pod has not ended. When the agent has ended, only sidecars linger and the pod ends by itself
 * in a moment; otherwise (the run failed before its agent started, or timed out) the pod must be ended by us: a
 * kubelet that retries a pull or a Secret that appears late would start the untrusted agent after the run is over.
 */
const lingers = (pod: PodView | undefined, podEnded: boolean | undefined) => pod !== undefined && !podEnded;

const hasFinalizer = (run: AgentRun) => run.metadata.finalizers?.includes(FINALIZER) ?? false;

/**
 * A live run's grants. Nothing is granted while the run waits for its packs: grants exist only with (or just
 * before) the pod. Cluster-scoped grants exist only on runs with the finalizer (set before they are made, released
 * after they are gone), so a run without it has none to delete.
 */
function grant(intent: Intent, run: AgentRun, ref: RunRef, holdings: readonly SkillGrant[], observed: Observed, usable: PackMap): void {
  const objects = renderGrants(ref, run, holdings, { packs: usable, snapshot: snapshotOf(observed.pod), apiServer: observed.apiServer });
  if (holdsClusterRules(holdings) && !hasFinalizer(run)) intent.finalizer = 'add';
  intent.apply.push(objects.serviceAccount, objects.configMap, objects.networkPolicy);
  if (objects.role && objects.roleBinding) intent.apply.push(objects.role, objects.roleBinding);
  else intent.delete.push(...roleRefs(ref));
  if (objects.clusterRole && objects.clusterRoleBinding) intent.apply.push(objects.clusterRole, objects.clusterRoleBinding);
  else if (hasFinalizer(run)) intent.delete.push(...clusterRefs(ref));
}

/**
 * Every grant goes when the run ends, all at once: RBAC, the ServiceAccount (its tokens die with it), egress. The
 * NetworkPolicy turns deny-all while anything of the pod may still run, and goes once the pod has ended.
 */
function revoke(intent: Intent, run: AgentRun, ref: RunRef, podLingers: boolean): void {
  if (podLingers) intent.apply.push(buildIsolationNetworkPolicy(ref));
  else intent.delete.push({ apiVersion: NETWORKING, kind: 'NetworkPolicy', namespace: ref.namespace, name: ref.childName });
  const revoked = run.status?.conditions?.some((c) => c.type === RunCondition.GrantsRevoked && c.status === 'True');
  if (revoked) return;
  intent.delete.push(...roleRefs(ref), { apiVersion: 'v1', kind: 'ServiceAccount', namespace: ref.namespace, name: ref.childName });
  if (hasFinalizer(run)) {
    intent.delete.push(...clusterRefs(ref));
    intent.finalizer = 'remove';
  }
}

/** A run being deleted: only the cluster-scoped grants need us (namespaced objects go with their owner). */
function finalize(run: AgentRun): Intent {
  const intent: Intent = { apply: [], delete: [], events: [], deleteRun: false };
  if (!hasFinalizer(run)) return intent;
  intent.delete.push(...clusterRefs(runRef(run)));
  intent.finalizer = 'remove';
  return intent;
}

const roleRefs = (ref: RunRef): ObjectRef[] => [
  { apiVersion: RBAC, kind: 'RoleBinding', namespace: ref.namespace, name: ref.childName },
  { apiVersion: RBAC, kind: 'Role', namespace: ref.namespace, name: ref.childName },
];
const clusterRefs = (ref: RunRef): ObjectRef[] => [
  { apiVersion: RBAC, kind: 'ClusterRoleBinding', name: ref.clusterChildName },
  { apiVersion: RBAC, kind: 'ClusterRole', name: ref.clusterChildName },
];

/** The run's deletion after ttlSecondsAfterFinished, and when to look again: the deadline or the TTL. */
function schedule(intent: Intent, run: AgentRun, next: AgentRunStatus, where: Standing, now: Date): void {
  const ended = isFinishedPhase(where.phase);
  const completion = parseTime(next.completionTime);
  const ttl = run.spec.ttlSecondsAfterFinished;
  const ttlDue = ended && ttl !== undefined && completion !== undefined ? completion + ttl * 1000 : undefined;
  intent.deleteRun = ttlDue !== undefined && now.getTime() >= ttlDue;
  const waits = [ended ? undefined : where.deadline - now.getTime(), intent.deleteRun || ttlDue === undefined ? undefined : ttlDue - now.getTime()]
    .filter((ms): ms is number => ms !== undefined && ms > 0);
  if (waits.length > 0) intent.requeueAfterMs = Math.min(...waits) + 50;
}

/** An AgentRun its schema refuses (written before a stricter version): said on Ready, nothing else done. */
function invalidSpec(metadata: { generation?: number }, status: AgentRunStatus | undefined, error: string, now: Date): Intent {
  const intent: Intent = { apply: [], delete: [], events: [], deleteRun: false };
  const refused = notReady({ metadata, status }, ReadyReason.InvalidSpec, error, now);
  if (refused) Object.assign(intent, refused);
  return intent;
}

/**
 * Ready=False with this reason and message, and a Warning event; undefined when the run already says so. For a
 * write the API server refuses for a reason only a person can fix (a quota, Pod Security, RBAC the operator lacks,
 * a webhook): act() reports it with this, then retries with backoff as any failure (the quota may free up).
 */
export function notReady(
  run: { metadata: { generation?: number | undefined }; status?: AgentRunStatus | undefined }, reason: string, message: string, now: Date,
): { status: AgentRunStatus; events: PlannedEvent[] } | undefined {
  const conditions = setCondition(run.status?.conditions,
    { type: RunCondition.Ready, status: 'False', reason, message: message.slice(0, 1024), observedGeneration: run.metadata.generation }, now);
  if (isDeepStrictEqual(conditions, run.status?.conditions)) return undefined;
  return {
    status: { ...run.status, conditions, ...(run.metadata.generation !== undefined ? { observedGeneration: run.metadata.generation } : {}) },
    events: [{ type: 'Warning', reason, message }],
  };
}
