// The pure heart of the AgentRun controller: from what is observed (the run, its packs, its pod, the time) to
// what should be (the next status, which skills hold grants, whether to create or delete the pod or the run,
// when to look again). No I/O here: reconcile.ts reads the world, calls planRun, and carries the plan out.
import type { V1Pod } from '@kubernetes/client-node';
import {
  skillsReadySummary, type AgentRun, type AgentRunPhase, type AgentRunStatus, type SkillPack, type SkillStatus,
} from '../api/index.ts';
import type { PodProblem, SkillGrant } from '../builders/index.ts';
import { setCondition, toRfc3339, type ConditionInput } from '../status/conditions.ts';
import { observePod, type PodObservation, type PodOutcome } from './pod-observation.ts';
import { parseTerminationMessage, truncateResult } from './result.ts';

/** A pack as the run sees it: missing, not Ready (with why), or usable. */
export interface PackView {
  pack?: SkillPack;
  ready: boolean;
  reason: string;
  message: string;
}

export interface PlanInput {
  run: AgentRun;
  /** One entry per skill name in the spec: why a pack is not usable, for conditions. */
  packs: ReadonlyMap<string, PackView>;
  /** What each skill holds now (builders' skillGrants, bounded by the pod's snapshot once it exists). */
  grants: readonly SkillGrant[];
  /** Why the pod cannot be built although every pack is ready (no agent image, bad settings). */
  podProblem?: PodProblem | undefined;
  pod: V1Pod | undefined;
  /** status.podName is set and a direct read confirmed the pod is gone. */
  podLost: boolean;
  now: Date;
  podRetention: 'keep' | 'delete';
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Plan {
  status: AgentRunStatus;
  /** Create the pod now (grants first). */
  createPod: boolean;
  /** Skills whose pack rules the run holds now; empty when the run has ended (every grant revoked). */
  grantedSkills: string[];
  /** Skills of the pod whose executor gate must be closed (the pod annotation). */
  disabledSkills: string[];
  /** Whether the run's grants (ServiceAccount, RBAC, its NetworkPolicy's allowances) should exist at all. */
  keepGrants: boolean;
  /**
   * The run has ended but something of its pod may still run (sidecars lingering, a kubelet retrying a pull, a pod
   * being deleted): its NetworkPolicy must deny everything instead of being deleted, so the pod is never unconfined.
   */
  isolatePod: boolean;
  deletePod: boolean;
  deleteRun: boolean;
  requeueAfterMs?: number;
  events: PlannedEvent[];
}

export const CONDITION_SKILLPACKS_READY = 'SkillPacksReady';
export const CONDITION_SKILLS_IN_POD = 'SkillsInPod';

const isTerminal = (phase: AgentRunPhase | undefined) => phase === 'Succeeded' || phase === 'Failed';
const parseTime = (t: string | undefined) => (t ? Date.parse(t) : undefined);
/** Informer caches hold timestamps as strings where V1Pod's type says Date. */
const timeOf = (t: Date | string | undefined) => (t instanceof Date ? t.getTime() : parseTime(t));

export function planRun(input: PlanInput): Plan {
  const { run, packs, pod, now } = input;
  const previous = run.status ?? {};
  const generation = run.metadata.generation;
  const skills = run.spec.skills ?? [];
  const grantOf = new Map(input.grants.map((g) => [g.name, g]));
  const inPod = new Set(input.grants.filter((g) => g.inPod).map((g) => g.name));
  const observation = pod ? observePod(pod) : undefined;
  const events: PlannedEvent[] = [];

  // --- outcome: terminal states are sticky; otherwise the pod, a lost pod, or the deadline decide. The deadline counts
  // from the moment the kubelet counts activeDeadlineSeconds from (the pod's startTime) once there is one.
  const start = timeOf(pod?.status?.startTime) ?? parseTime(previous.startTime) ?? parseTime(run.metadata.creationTimestamp) ?? now.getTime();
  const deadline = start + run.spec.timeoutSeconds * 1000;
  let outcome: PodOutcome | undefined = isTerminal(previous.phase) ? undefined : observation?.outcome;
  if (!isTerminal(previous.phase) && outcome?.kind !== 'succeeded' && outcome?.kind !== 'failed') {
    if (input.podLost) outcome = { kind: 'failed', reason: 'PodLost', message: `the pod ${previous.podName} of the unfinished run is gone`, result: '' };
    else if (now.getTime() >= deadline) outcome = { kind: 'failed', reason: 'Timeout', message: timeoutMessage(run), result: '' };
  }

  const missing = skills.filter((s) => !packs.get(s.name)?.ready);
  const phase: AgentRunPhase = isTerminal(previous.phase)
    ? previous.phase
    : outcome?.kind === 'succeeded' ? 'Succeeded'
    : outcome?.kind === 'failed' ? 'Failed'
    : observation?.agentStarted || pod?.status?.phase === 'Running' ? 'Running'
    : 'Pending';
  const terminal = isTerminal(phase);

  // --- grants: enabled, usable skills that are (or will be) in the pod, while the run lives.
  const grantedSkills = terminal ? [] : input.grants.filter((g) => g.granted).map((g) => g.name);
  const disabledSkills = [...inPod].filter((name) => !grantedSkills.includes(name)).sort();
  const createPod = !terminal && !previous.podName && !pod && missing.length === 0 && !input.podProblem;

  // --- conditions
  let conditions = previous.conditions;
  const set = (c: Omit<ConditionInput, 'observedGeneration'>) => { conditions = setCondition(conditions, { ...c, observedGeneration: generation }, now); };
  if (!terminal) {
    set(missing.length === 0
      ? { type: CONDITION_SKILLPACKS_READY, status: 'True', reason: 'AllSkillPacksReady', message: '' }
      : { type: CONDITION_SKILLPACKS_READY, status: 'False', reason: missing.some((s) => !packs.get(s.name)?.pack) ? 'SkillPackNotFound' : 'SkillPackNotReady',
        message: missing.map((s) => `${s.name}: ${packs.get(s.name)?.message ?? 'not found'}`).join('; ') });
  }
  const notInPod = skills.filter((s) => !inPod.has(s.name)).map((s) => s.name);
  if (pod || notInPod.length > 0) {
    set(notInPod.length === 0
      ? { type: CONDITION_SKILLS_IN_POD, status: 'True', reason: 'AllSkillsInPod', message: '' }
      : { type: CONDITION_SKILLS_IN_POD, status: 'False', reason: 'SkillNotInPod',
        message: `skills added after the pod was created get no sidecar: ${notInPod.join(', ')}` });
  }
  const skillStatuses = skillStatus(run, packs, grantOf, observation?.skillsReady, terminal);
  const enabledReady = skillStatuses.filter((s) => s.enabled).every((s) => s.ready);
  if (phase === 'Succeeded') {
    set({ type: 'Succeeded', status: 'True', reason: 'AgentSucceeded', message: 'the agent exited with code 0' });
    set({ type: 'Ready', status: 'False', reason: 'Finished', message: 'the run has finished' });
  } else if (phase === 'Failed') {
    if (outcome?.kind === 'failed') set({ type: 'Succeeded', status: 'False', reason: outcome.reason, message: outcome.message });
    set({ type: 'Ready', status: 'False', reason: 'Finished', message: 'the run has finished' });
  } else {
    set({ type: 'Succeeded', status: 'Unknown', reason: phase, message: '' });
    if (missing.length > 0) set({ type: 'Ready', status: 'False', reason: 'WaitingForSkillPacks', message: `waiting for SkillPacks: ${missing.map((s) => s.name).join(', ')}` });
    else if (input.podProblem && !pod) set({ type: 'Ready', status: 'False', reason: input.podProblem.reason, message: input.podProblem.message });
    else if (phase === 'Pending') set({ type: 'Ready', status: 'False', reason: 'PodPending', message: pod ? 'the pod is starting' : 'creating the pod' });
    else if (!enabledReady) set({ type: 'Ready', status: 'False', reason: 'SkillsNotReady', message: skillStatuses.filter((s) => s.enabled && !s.ready).map((s) => `${s.name}: ${s.message ?? 'not ready'}`).join('; ') });
    else set({ type: 'Ready', status: 'True', reason: 'Running', message: 'the agent is running' });
  }

  // --- status
  const status: AgentRunStatus = {
    ...previous,
    phase,
    conditions,
    observedGeneration: generation,
    skills: skillStatuses,
    skillsReady: skillsReadySummary(skillStatuses),
  };
  if (outcome && (outcome.kind === 'succeeded' || outcome.kind === 'failed')) {
    status.completionTime = toRfc3339(now);
    const report = parseTerminationMessage(outcome.result);
    const { result, truncated } = truncateResult(report.result);
    if (result) status.result = result;
    if (truncated) status.resultTruncated = true;
    if (report.usage) status.usage = report.usage;
  }

  // --- events on transitions
  if (phase !== previous.phase) {
    if (phase === 'Running') events.push({ type: 'Normal', reason: 'Started', message: 'the agent is running' });
    if (phase === 'Succeeded') events.push({ type: 'Normal', reason: 'Succeeded', message: 'the agent finished successfully; its grants are revoked' });
    if (phase === 'Failed' && outcome?.kind === 'failed') events.push({ type: 'Warning', reason: outcome.reason, message: outcome.message });
  }
  const was = new Map((previous.skills ?? []).map((s) => [s.name, s.rbac]));
  for (const s of skillStatuses) {
    if (terminal || was.get(s.name) === s.rbac || !was.has(s.name)) continue;
    if (s.rbac === 'Revoked') events.push({ type: 'Normal', reason: 'SkillRevoked', message: `skill ${s.name}: permissions revoked${s.enabled ? ' (pack not usable)' : ' (switched off)'}` });
    if (s.rbac === 'Granted') events.push({ type: 'Normal', reason: 'SkillGranted', message: `skill ${s.name}: permissions granted` });
  }
  if (missing.length > 0 && previous.conditions?.find((c) => c.type === CONDITION_SKILLPACKS_READY)?.status !== 'False' && !terminal) {
    events.push({ type: 'Warning', reason: 'WaitingForSkillPacks', message: missing.map((s) => `${s.name}: ${packs.get(s.name)?.message ?? 'not found'}`).join('; ') });
  }

  // --- deletions and the next look
  const completion = parseTime(status.completionTime);
  const ttl = run.spec.ttlSecondsAfterFinished;
  const ttlDue = terminal && ttl !== undefined && completion !== undefined ? completion + ttl * 1000 : undefined;
  const deleteRun = ttlDue !== undefined && now.getTime() >= ttlDue;
  const lingering = podLingers(pod, observation, terminal);
  const deletePod = Boolean(pod) && terminal && !pod?.metadata?.deletionTimestamp &&
    (input.podRetention === 'delete' || (lingering && !observation?.agentEnded));
  const waits = [terminal ? undefined : deadline - now.getTime(), deleteRun ? undefined : ttlDue !== undefined ? ttlDue - now.getTime() : undefined]
    .filter((ms): ms is number => ms !== undefined && ms > 0);
  return {
    status, createPod, grantedSkills, disabledSkills, keepGrants: !terminal, isolatePod: lingering, deletePod, deleteRun,
    requeueAfterMs: waits.length > 0 ? Math.min(...waits) + 50 : undefined,
    events,
  };
}

/** Reasons of Ready=False that say why a run made no progress; a timeout keeps them, or the why would be lost. */
const BLOCKING_REASONS = new Set(['PodRefused', 'GrantRefused', 'WaitingForSkillPacks', 'NoAgentImage', 'InvalidSettings', 'SkillsNotReady']);

function timeoutMessage(run: AgentRun): string {
  const base = `the run did not finish within ${run.spec.timeoutSeconds}s`;
  const ready = run.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'False' && BLOCKING_REASONS.has(ready.reason) ? `${base}; before that, ${ready.reason}: ${ready.message}` : base;
}

/**
 * A finished run whose pod has not ended. When the agent has ended, only sidecars linger and the pod ends by itself
 * in a moment; otherwise (the run failed before its agent started, or timed out) the pod must be ended by us: a
 * kubelet that retries a pull or a Secret that appears late would start the untrusted agent after the run is over.
 */
function podLingers(pod: V1Pod | undefined, observation: PodObservation | undefined, terminal: boolean): boolean {
  return terminal && pod !== undefined && !observation?.podEnded;
}

function skillStatus(
  run: AgentRun, packs: ReadonlyMap<string, PackView>, grants: ReadonlyMap<string, SkillGrant>,
  ready: ReadonlyMap<string, boolean> | undefined, terminal: boolean,
): SkillStatus[] {
  return (run.spec.skills ?? []).map((skill) => {
    const view = packs.get(skill.name);
    const grant = grants.get(skill.name);
    const inPod = grant?.inPod ?? false;
    // When the run ends every grant goes: what declared RBAC is Revoked.
    const rbac: SkillStatus['rbac'] = terminal && grant?.rbac === 'Granted' ? 'Revoked' : (grant?.rbac ?? 'None');
    const sidecarReady = ready?.get(skill.name) ?? false;
    let message: string | undefined;
    if (!inPod) message = 'added after the pod was created: no sidecar';
    else if (!view?.ready) message = view?.message ?? 'SkillPack not found';
    else if (terminal) message = 'the run has finished';
    else if (!skill.enabled) message = 'switched off';
    else if (!sidecarReady) message = 'sidecar not ready';
    const status: SkillStatus = { name: skill.name, enabled: skill.enabled, ready: !terminal && Boolean(grant?.granted) && sidecarReady, rbac };
    if (message) status.message = message;
    return status;
  });
}
