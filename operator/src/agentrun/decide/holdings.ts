// What each skill of a run holds: the one place that decides it. Everything else (the Role, the ClusterRole, the
// NetworkPolicy, the pod's gate, status.skills) renders or reports these holdings.
//
// A skill holds its pack's rules and egress while the run lives, the skill is enabled (not switched off), its pack
// exists and is Ready, and it has a sidecar. Once the pod exists, what it holds is bounded by the pod's grant
// snapshot (what the pack granted when the pod was created): a pack edited later can narrow a running run, never
// widen it. When the run has ended, nothing is held.
import type { V1NetworkPolicyEgressRule, V1PolicyRule } from '@kubernetes/client-node';
import type { AgentRun, RBACState } from '../../api/index.ts';
import {
  intersectEgress, intersectRules, packGrant, packHasRBAC, skillNames,
  type GrantSnapshot, type PackMap, type SkillGrant,
} from '../../builders/index.ts';

export interface HoldingsInput {
  run: Pick<AgentRun, 'spec'>;
  /** Packs that exist and are Ready; any other skill holds nothing. */
  packs: PackMap;
  /** The pod's snapshot once the pod exists (EMPTY_SNAPSHOT if unreadable); undefined before. */
  snapshot?: GrantSnapshot | undefined;
  /** The run has succeeded or failed: every grant is revoked. */
  ended?: boolean;
}

/** Per skill of the spec, sorted by name: what it holds now. */
export function skillHoldings({ run, packs, snapshot, ended = false }: HoldingsInput): SkillGrant[] {
  const enabledBySkill = new Map((run.spec.skills ?? []).map((s) => [s.name, s.enabled !== false]));
  return skillNames(run).map((name) => {
    const enabled = enabledBySkill.get(name) ?? true;
    const pack = packs.get(name);
    const held = snapshot?.packs[name];
    const inPod = snapshot === undefined || held !== undefined;
    const granted = !ended && enabled && pack !== undefined && inPod;
    const declares =
      (pack !== undefined && packHasRBAC(pack)) || (held?.rules?.length ?? 0) > 0 || (held?.clusterRules?.length ?? 0) > 0;
    let rules: V1PolicyRule[] = [];
    let clusterRules: V1PolicyRule[] = [];
    let egress: V1NetworkPolicyEgressRule[] = [];
    if (granted) {
      const now = packGrant(pack);
      rules = held ? intersectRules(now.rules ?? [], held.rules ?? []) : (now.rules ?? []);
      clusterRules = held ? intersectRules(now.clusterRules ?? [], held.clusterRules ?? []) : (now.clusterRules ?? []);
      egress = held ? intersectEgress(now.egress ?? [], held.egress ?? []) : (now.egress ?? []);
    }
    const rbac: RBACState = !declares ? 'None' : rules.length + clusterRules.length > 0 ? 'Granted' : 'Revoked';
    return { name, enabled, available: pack !== undefined, inPod, granted, rbac, rules, clusterRules, egress };
  });
}

/**
 * The value of the pod's `skillpod.io/disabled-skills` gate: the skills with a sidecar whose gate is closed
 * (switched off, pack missing or not Ready, run ended), sorted, comma-separated; '' when every gate is open.
 */
export function gateValue(holdings: readonly SkillGrant[]): string {
  return holdings.filter((h) => h.inPod && !h.granted).map((h) => h.name).join(',');
}

/** Whether any skill holds cluster-wide rules (the run then needs the finalizer that removes them). */
export const holdsClusterRules = (holdings: readonly SkillGrant[]) => holdings.some((h) => h.clusterRules.length > 0);
