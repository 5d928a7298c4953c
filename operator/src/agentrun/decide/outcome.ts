// Where the run stands: its phase, and, when it ends on this pass, how. Terminal phases are sticky; otherwise the
// pod, a lost pod or the deadline decide. The deadline counts from the moment the kubelet counts
// activeDeadlineSeconds from (the pod's startTime) once there is one.
import { isFinishedPhase, ReadyReason, SucceededReason, type AgentRun, type AgentRunPhase } from '../../api/index.ts';
import type { PodObservation, PodOutcome } from '../pod-observation.ts';
import type { PodView } from '../views.ts';

export const parseTime = (t: string | undefined) => (t ? Date.parse(t) : undefined);

export interface Standing {
  phase: AgentRunPhase;
  /** Set when the run ends on this pass. */
  ended?: Extract<PodOutcome, { kind: 'succeeded' | 'failed' }>;
  /** When the run times out (ms since the epoch). */
  deadline: number;
}

export function standing(run: AgentRun, pod: PodView | undefined, observation: PodObservation | undefined, podLost: boolean, now: Date): Standing {
  const previous = run.status ?? {};
  const start = parseTime(pod?.status.startTime) ?? parseTime(previous.startTime) ?? parseTime(run.metadata.creationTimestamp) ?? now.getTime();
  const deadline = start + run.spec.timeoutSeconds * 1000;
  if (isFinishedPhase(previous.phase)) return { phase: previous.phase, deadline };
  let outcome = observation?.outcome;
  if (outcome?.kind !== 'succeeded' && outcome?.kind !== 'failed') {
    if (podLost) outcome = { kind: 'failed', reason: SucceededReason.PodLost, message: `the pod ${previous.podName} of the unfinished run is gone`, result: '' };
    else if (now.getTime() >= deadline) outcome = { kind: 'failed', reason: SucceededReason.Timeout, message: timeoutMessage(run), result: '' };
  }
  if (outcome?.kind === 'succeeded') return { phase: 'Succeeded', ended: outcome, deadline };
  if (outcome?.kind === 'failed') return { phase: 'Failed', ended: outcome, deadline };
  return { phase: observation?.agentStarted || pod?.status.phase === 'Running' ? 'Running' : 'Pending', deadline };
}

/** Reasons of Ready=False that say why a run made no progress; a timeout keeps them, or the why would be lost. */
const BLOCKING_REASONS: ReadonlySet<string> = new Set([
  ReadyReason.PodRefused, ReadyReason.GrantRefused, ReadyReason.WaitingForSkillPacks, ReadyReason.NoAgentImage,
  ReadyReason.InvalidSettings, ReadyReason.SkillsNotReady,
]);

function timeoutMessage(run: AgentRun): string {
  const base = `the run did not finish within ${run.spec.timeoutSeconds}s`;
  const ready = run.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'False' && BLOCKING_REASONS.has(ready.reason) ? `${base}; before that, ${ready.reason}: ${ready.message}` : base;
}
