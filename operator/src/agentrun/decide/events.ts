// Events on transitions only (phase changed, a skill's RBAC changed, the run started waiting for packs), so a pass
// that changes nothing records nothing.
import { isFinishedPhase, ReadyReason, RunCondition, RunEventReason, type AgentRun, type AgentRunStatus } from '../../api/index.ts';
import type { Standing } from './outcome.ts';
import type { PlannedEvent } from './types.ts';

export interface EventFacts {
  run: AgentRun;
  next: AgentRunStatus;
  standing: Standing;
  /** Set when the pod is created on this pass. */
  podCreated?: string | undefined;
  /** The run waits for these packs, and why (empty when it does not). */
  waiting: string;
}

export function transitionEvents(f: EventFacts): PlannedEvent[] {
  const previous = f.run.status ?? {};
  const ended = isFinishedPhase(f.standing.phase);
  const events: PlannedEvent[] = [];
  if (f.podCreated) events.push({ type: 'Normal', reason: RunEventReason.PodCreated, message: `created pod ${f.podCreated}` });
  if (f.standing.phase !== previous.phase) {
    if (f.standing.phase === 'Running') events.push({ type: 'Normal', reason: RunEventReason.Started, message: 'the agent is running' });
    if (f.standing.phase === 'Succeeded') events.push({ type: 'Normal', reason: RunEventReason.Succeeded, message: 'the agent finished successfully; its grants are revoked' });
    if (f.standing.ended?.kind === 'failed') events.push({ type: 'Warning', reason: f.standing.ended.reason, message: f.standing.ended.message });
  }
  if (!ended) events.push(...skillEvents(previous, f.next));
  const wasWaiting = previous.conditions?.find((c) => c.type === RunCondition.SkillPacksReady)?.status === 'False';
  if (f.waiting && !wasWaiting && !ended) events.push({ type: 'Warning', reason: ReadyReason.WaitingForSkillPacks, message: f.waiting });
  return events;
}

/** A skill's permissions granted or revoked while the run goes on (switched on or off, its pack changed). */
function skillEvents(previous: AgentRunStatus, next: AgentRunStatus): PlannedEvent[] {
  const was = new Map((previous.skills ?? []).map((s) => [s.name, s.rbac]));
  return (next.skills ?? []).flatMap((s): PlannedEvent[] => {
    if (!was.has(s.name) || was.get(s.name) === s.rbac) return [];
    if (s.rbac === 'Revoked') return [{ type: 'Normal', reason: RunEventReason.SkillRevoked, message: `skill ${s.name}: permissions revoked${s.enabled ? ' (pack not usable)' : ' (switched off)'}` }];
    if (s.rbac === 'Granted') return [{ type: 'Normal', reason: RunEventReason.SkillGranted, message: `skill ${s.name}: permissions granted` }];
    return [];
  });
}
