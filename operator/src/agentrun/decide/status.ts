// The run's next status: phase, conditions, skills, the result when it ends. Each condition is one small function
// of what decide() established; setCondition keeps transition times of conditions whose status did not change.
import {
  GrantsRevokedReason, isFinishedPhase, ReadyReason, RunCondition, SkillPacksReadyReason, SkillsInPodReason, SucceededReason,
  skillsReadySummary, type AgentRun, type AgentRunStatus, type SkillStatus,
} from '../../api/index.ts';
import type { PodProblem, SkillGrant } from '../../builders/index.ts';
import { setCondition, toRfc3339, type ConditionInput } from '../../status/conditions.ts';
import { parseTerminationMessage, truncateResult } from '../result.ts';
import type { Standing } from './outcome.ts';
import type { PackView } from './types.ts';

type Condition = Omit<ConditionInput, 'observedGeneration'>;

export interface StatusFacts {
  run: AgentRun;
  packs: ReadonlyMap<string, PackView>;
  holdings: readonly SkillGrant[];
  standing: Standing;
  /** Skills whose pack is missing or not Ready. */
  waitingFor: readonly string[];
  podProblem?: PodProblem | undefined;
  /** The pod exists, or is created on this pass. */
  hasPod: boolean;
  /** Pack name → whether its sidecar is started and ready. */
  sidecarsReady?: ReadonlyMap<string, boolean> | undefined;
  /** Whether every grant is gone (the run has ended). */
  grantsRevoked: boolean;
  now: Date;
}

export function nextStatus(f: StatusFacts): AgentRunStatus {
  const previous = f.run.status ?? {};
  const ended = isFinishedPhase(f.standing.phase);
  const skills = skillStatuses(f, ended);
  let conditions = previous.conditions;
  for (const c of runConditions(f, skills, ended)) {
    conditions = setCondition(conditions, { ...c, observedGeneration: f.run.metadata.generation }, f.now);
  }
  const status: AgentRunStatus = {
    ...previous, phase: f.standing.phase, conditions, observedGeneration: f.run.metadata.generation, skills, skillsReady: skillsReadySummary(skills),
  };
  if (f.standing.ended) {
    status.completionTime = toRfc3339(f.now);
    const report = parseTerminationMessage(f.standing.ended.result);
    const { result, truncated } = truncateResult(report.result);
    if (result) status.result = result;
    if (truncated) status.resultTruncated = true;
    if (report.usage) status.usage = report.usage;
  }
  return status;
}

function runConditions(f: StatusFacts, skills: readonly SkillStatus[], ended: boolean): Condition[] {
  return [
    ...(ended ? [] : [skillPacksReady(f)]),
    ...skillsInPod(f),
    ...succeededAndReady(f, skills),
    ...(f.grantsRevoked ? [grantsRevoked()] : []),
  ];
}

function skillPacksReady(f: StatusFacts): Condition {
  if (f.waitingFor.length === 0) return { type: RunCondition.SkillPacksReady, status: 'True', reason: SkillPacksReadyReason.AllSkillPacksReady, message: '' };
  const notFound = f.waitingFor.some((name) => !f.packs.get(name)?.pack);
  return {
    type: RunCondition.SkillPacksReady, status: 'False',
    reason: notFound ? SkillPacksReadyReason.SkillPackNotFound : SkillPacksReadyReason.SkillPackNotReady,
    message: waitingMessage(f),
  };
}

export const waitingMessage = (f: Pick<StatusFacts, 'waitingFor' | 'packs'>) =>
  f.waitingFor.map((name) => `${name}: ${f.packs.get(name)?.message ?? 'not found'}`).join('; ');

/** Said once there is a pod, or earlier when a skill can no longer get a sidecar. */
function skillsInPod(f: StatusFacts): Condition[] {
  const notInPod = f.holdings.filter((h) => !h.inPod).map((h) => h.name);
  if (!f.hasPod && notInPod.length === 0) return [];
  return [notInPod.length === 0
    ? { type: RunCondition.SkillsInPod, status: 'True', reason: SkillsInPodReason.AllSkillsInPod, message: '' }
    : { type: RunCondition.SkillsInPod, status: 'False', reason: SkillsInPodReason.SkillNotInPod,
      message: `skills added after the pod was created get no sidecar: ${notInPod.join(', ')}` }];
}

function succeededAndReady(f: StatusFacts, skills: readonly SkillStatus[]): Condition[] {
  const { phase, ended } = f.standing;
  const finished: Condition = { type: RunCondition.Ready, status: 'False', reason: ReadyReason.Finished, message: 'the run has finished' };
  if (phase === 'Succeeded') {
    return [{ type: RunCondition.Succeeded, status: 'True', reason: SucceededReason.AgentSucceeded, message: 'the agent exited with code 0' }, finished];
  }
  if (phase === 'Failed') {
    // A run that ended on an earlier pass keeps its Succeeded=False as it was written then.
    return ended?.kind === 'failed'
      ? [{ type: RunCondition.Succeeded, status: 'False', reason: ended.reason, message: ended.message }, finished]
      : [finished];
  }
  return [{ type: RunCondition.Succeeded, status: 'Unknown', reason: phase, message: '' }, ready(f, skills)];
}

/** Ready while the run goes on: the first thing it waits for, or Running. */
function ready(f: StatusFacts, skills: readonly SkillStatus[]): Condition {
  const notReady = (reason: string, message: string): Condition => ({ type: RunCondition.Ready, status: 'False', reason, message });
  if (f.waitingFor.length > 0) return notReady(ReadyReason.WaitingForSkillPacks, `waiting for SkillPacks: ${f.waitingFor.join(', ')}`);
  if (f.podProblem && !f.hasPod) return notReady(f.podProblem.reason, f.podProblem.message);
  if (f.standing.phase === 'Pending') return notReady(ReadyReason.PodPending, f.hasPod ? 'the pod is starting' : 'creating the pod');
  const waiting = skills.filter((s) => s.enabled && !s.ready);
  if (waiting.length > 0) return notReady(ReadyReason.SkillsNotReady, waiting.map((s) => `${s.name}: ${s.message ?? 'not ready'}`).join('; '));
  return { type: RunCondition.Ready, status: 'True', reason: ReadyReason.Running, message: 'the agent is running' };
}

const grantsRevoked = (): Condition => ({
  type: RunCondition.GrantsRevoked, status: 'True', reason: GrantsRevokedReason.RunFinished,
  message: 'the run\'s ServiceAccount and RBAC are deleted; its NetworkPolicy denies all traffic until the pod has ended, then goes',
});

function skillStatuses(f: StatusFacts, ended: boolean): SkillStatus[] {
  const holdingOf = new Map(f.holdings.map((h) => [h.name, h]));
  return (f.run.spec.skills ?? []).map((skill) => {
    const view = f.packs.get(skill.name);
    const holding = holdingOf.get(skill.name);
    const sidecarReady = f.sidecarsReady?.get(skill.name) ?? false;
    let message: string | undefined;
    if (!holding?.inPod) message = 'added after the pod was created: no sidecar';
    else if (!view?.ready) message = view?.message ?? 'SkillPack not found';
    else if (ended) message = 'the run has finished';
    else if (!skill.enabled) message = 'switched off';
    else if (!sidecarReady) message = 'sidecar not ready';
    const status: SkillStatus = { name: skill.name, enabled: skill.enabled, ready: Boolean(holding?.granted) && sidecarReady, rbac: holding?.rbac ?? 'None' };
    if (message) status.message = message;
    return status;
  });
}
