// Which run reconciles jump the queue. Taking permissions away is the operator's promise ("they vanish when the
// run ends"), so a run whose agent has ended, that is being deleted, or whose skill was switched off goes ahead of
// runs waiting for their pods: under a burst of creations the queue would otherwise hold those grants alive for as
// long as the burst takes to drain. Pure functions of the informer event.
import { isFinishedPhase, RunCondition } from '../api/index.ts';
import type { InformerEvent } from '../runtime/index.ts';
import { observePod } from './pod-observation.ts';
import type { CachedRun, PodView } from './views.ts';

/** The queue priority of a reconcile that revokes something; everything else runs at 0. */
export const REVOKE_PRIORITY = 1;

const enabledSkills = (run: CachedRun | undefined) =>
  new Set((run?.run?.spec.skills ?? []).filter((s) => s.enabled).map((s) => s.name));

/** An AgentRun event: deleted or being deleted, ended with grants still there, or a skill switched off. */
export function runEventPriority(event: InformerEvent<CachedRun>): number {
  const run = event.object;
  if (event.type === 'deleted' || run.metadata.deletionTimestamp) return REVOKE_PRIORITY;
  const revoked = run.status?.conditions?.some((c) => c.type === RunCondition.GrantsRevoked && c.status === 'True');
  if (isFinishedPhase(run.status?.phase) && !revoked) return REVOKE_PRIORITY;
  if (event.type === 'updated' && event.old) {
    const now = enabledSkills(run);
    if ([...enabledSkills(event.old)].some((name) => !now.has(name))) return REVOKE_PRIORITY;
  }
  return 0;
}

/** A run's pod event: the pod is gone, or says the agent has ended (or never will start). */
export function podEventPriority(event: InformerEvent<PodView>): number {
  if (event.type === 'deleted') return REVOKE_PRIORITY;
  return observePod(event.object).outcome.kind === 'running' ? 0 : REVOKE_PRIORITY;
}
