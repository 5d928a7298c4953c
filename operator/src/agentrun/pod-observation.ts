// What a run's pod says about the run, as a pure function of the pod (the Argo CD health-function style):
// whether the agent has ended and how, which skill sidecars are ready, and whether a sidecar can never start.
import { SucceededReason } from '../api/index.ts';
import type { ContainerStatusView, PodView } from './views.ts';

export const AGENT_CONTAINER = 'agent';
export const SKILL_CONTAINER_PREFIX = 'skill-';

export type PodOutcome =
  | { kind: 'running' }
  | { kind: 'succeeded'; result: string }
  | { kind: 'failed'; reason: string; message: string; result: string };

export interface PodObservation {
  outcome: PodOutcome;
  /** Pack name → whether its sidecar is started and ready. */
  skillsReady: Map<string, boolean>;
  /** Whether the agent container has started (so sidecar trouble can no longer hold the run back). */
  agentStarted: boolean;
  /** Whether the agent container has ended (sidecars may linger a moment; the pod ends by itself). */
  agentEnded: boolean;
  /** Whether the pod itself has ended (phase Succeeded or Failed): nothing of it runs any more. */
  podEnded: boolean;
}

/** Waiting reasons after which a container will not start without someone changing something. */
const STUCK_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError',
  'CreateContainerError', 'CrashLoopBackOff', 'RunContainerError']);

/**
 * A sidecar restarted before the agent ever started failed its startup probe for the pack's whole
 * startupTimeoutSeconds, or crashed: one restart is enough to say so (waiting for more only delays the answer).
 */
export const SIDECAR_RESTART_LIMIT = 1;

function stuck(status: ContainerStatusView): string | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  if ((status.restartCount ?? 0) >= SIDECAR_RESTART_LIMIT) {
    const last = status.lastState?.terminated;
    const times = status.restartCount === 1 ? 'once' : `${status.restartCount} times`;
    return `restarted ${times} before the agent started (did not pass its startup probe within the pack's startupTimeoutSeconds, or crashed)${last ? `; last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''}` : ''}`;
  }
  return undefined;
}

export function observePod(pod: PodView): PodObservation {
  const skillsReady = new Map<string, boolean>();
  for (const status of pod.status?.initContainerStatuses ?? []) {
    if (!status.name.startsWith(SKILL_CONTAINER_PREFIX)) continue;
    skillsReady.set(status.name.slice(SKILL_CONTAINER_PREFIX.length), status.ready && (status.started ?? true));
  }
  const agent = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
  const agentStarted = Boolean(agent?.state?.running || agent?.state?.terminated || agent?.lastState?.terminated);
  const podEnded = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  return { outcome: outcome(pod, agent, agentStarted), skillsReady, agentStarted, agentEnded: Boolean(agent?.state?.terminated), podEnded };
}

function outcome(pod: PodView, agent: ContainerStatusView | undefined, agentStarted: boolean): PodOutcome {
  const terminated = agent?.state?.terminated;
  if (terminated) {
    const result = terminated.message ?? '';
    if (terminated.exitCode === 0) return { kind: 'succeeded', result };
    const why = terminated.reason && terminated.reason !== 'Error' ? ` (${terminated.reason})` : '';
    return { kind: 'failed', reason: SucceededReason.AgentFailed, message: `the agent exited with code ${terminated.exitCode}${why}`, result };
  }
  const phase = pod.status?.phase;
  if (phase === 'Failed') {
    const reason = pod.status?.reason === 'DeadlineExceeded' ? SucceededReason.Timeout : SucceededReason.PodFailed;
    return { kind: 'failed', reason, message: pod.status?.message ?? `the pod failed${pod.status?.reason ? `: ${pod.status.reason}` : ''}`, result: '' };
  }
  if (phase === 'Succeeded') {
    // Only possible if the agent's status was lost; the pod's own verdict is all there is.
    return { kind: 'succeeded', result: '' };
  }
  if (!agentStarted) {
    for (const status of pod.status?.initContainerStatuses ?? []) {
      const problem = stuck(status);
      if (!problem) continue;
      if (status.name.startsWith(SKILL_CONTAINER_PREFIX)) {
        const pack = status.name.slice(SKILL_CONTAINER_PREFIX.length);
        return { kind: 'failed', reason: SucceededReason.SkillNotReady, message: `skill ${pack} cannot start: ${problem}`, result: '' };
      }
      return { kind: 'failed', reason: SucceededReason.InitFailed, message: `init container ${status.name} cannot start: ${problem}`, result: '' };
    }
    const waiting = agent?.state?.waiting;
    if (waiting?.reason && STUCK_REASONS.has(waiting.reason) && waiting.reason !== 'CrashLoopBackOff') {
      return { kind: 'failed', reason: SucceededReason.AgentNotStarted, message: `the agent cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`, result: '' };
    }
  }
  return { kind: 'running' };
}
