// What each skill of a run holds: its RBAC rules and egress, given the spec (enabled or not), the SkillPacks as
// they are now, and, once the pod exists, the snapshot of what the packs granted when it was created.
//
// The snapshot lives on the pod, as JSON in the annotation `skillpod.io/grants`:
//   {"version":1,"packs":{"<pack>":{"rules":[…],"clusterRules":[…],"egress":[…]}}}
// one entry per skill of the pod (switched off or not); rules in canonical form (rules.ts), egress normalized
// (egress.ts); empty lists left out. The pod is never updated, so the snapshot is fixed for the run's life.
import type { V1NetworkPolicyEgressRule, V1PolicyRule } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  ClusterPolicyRuleSchema,
  EgressRuleSchema,
  PolicyRuleSchema,
  type AgentRun,
  type RBACState,
  type SkillPack,
} from '../api/index.ts';
import { intersectEgress, normalizeEgress } from './egress.ts';
import { canonicalRules, intersectRules } from './rules.ts';

export interface PackGrant {
  rules?: V1PolicyRule[];
  clusterRules?: V1PolicyRule[];
  egress?: V1NetworkPolicyEgressRule[];
}

export interface GrantSnapshot {
  version: 1;
  /** Every skill the pod was created with. A skill missing here has no sidecar and is never granted. */
  packs: Record<string, PackGrant>;
}

/** SkillPacks by name. Pass only packs that exist and are Ready: any other pack is revoked. */
export type PackMap = ReadonlyMap<string, SkillPack>;

/** What one skill of the run holds now. */
export interface SkillGrant {
  name: string;
  /** What the spec asks. */
  enabled: boolean;
  /** The pack is in the PackMap (exists and is Ready). */
  available: boolean;
  /** The skill has a sidecar: always true before the pod exists, else whether the snapshot names it. */
  inPod: boolean;
  /** enabled, available and inPod: its gate is open and its rules and egress are in force. */
  granted: boolean;
  /** For status.skills[].rbac: None when the pack (now or in the snapshot) declares no RBAC. */
  rbac: RBACState;
  /** Namespaced rules in force (empty unless granted), canonical. */
  rules: V1PolicyRule[];
  /** Cluster-wide rules in force (empty unless granted), canonical. */
  clusterRules: V1PolicyRule[];
  /** Egress in force (empty unless granted), normalized. */
  egress: V1NetworkPolicyEgressRule[];
}

/** What a pack would grant if nothing bounded it: its rules canonical, its egress normalized. */
export function packGrant(pack: SkillPack): PackGrant {
  const grant: PackGrant = {};
  const rules = canonicalRules(pack.spec.rbac?.rules ?? []);
  const clusterRules = canonicalRules(pack.spec.rbac?.clusterRules ?? []);
  const egress = normalizeEgress(pack.spec.egress ?? []);
  if (rules.length > 0) grant.rules = rules;
  if (clusterRules.length > 0) grant.clusterRules = clusterRules;
  if (egress.length > 0) grant.egress = egress;
  return grant;
}

/** Whether a pack declares any RBAC (its sidecar then gets the ServiceAccount token). */
export function packHasRBAC(pack: SkillPack): boolean {
  return (pack.spec.rbac?.rules?.length ?? 0) > 0 || (pack.spec.rbac?.clusterRules?.length ?? 0) > 0;
}

/** The snapshot written on a new pod: what every skill of the run grants now. */
export function grantSnapshot(run: Pick<AgentRun, 'spec'>, packs: PackMap): GrantSnapshot {
  const out: GrantSnapshot = { version: 1, packs: {} };
  for (const name of skillNames(run)) {
    const pack = packs.get(name);
    if (pack) out.packs[name] = packGrant(pack);
  }
  return out;
}

export function renderGrantSnapshot(snapshot: GrantSnapshot): string {
  const packs: Record<string, PackGrant> = {};
  for (const name of Object.keys(snapshot.packs).sort()) packs[name] = snapshot.packs[name] ?? {};
  return JSON.stringify({ version: snapshot.version, packs });
}

const SnapshotSchema = z.object({
  version: z.literal(1),
  packs: z.record(
    z.string(),
    z.object({
      rules: z.array(PolicyRuleSchema).optional(),
      clusterRules: z.array(ClusterPolicyRuleSchema).optional(),
      egress: z.array(EgressRuleSchema).optional(),
    }),
  ),
});

export type SnapshotParse = { ok: true; snapshot: GrantSnapshot } | { ok: false; error: string };

/**
 * Reads the pod's `skillpod.io/grants` annotation. Namespace editors can edit pod annotations, which is harmless
 * (the snapshot only ever narrows the current packs), but a value that does not parse must fail closed: use
 * EMPTY_SNAPSHOT then, which grants nothing.
 */
export function parseGrantSnapshot(value: string | undefined): SnapshotParse {
  if (value === undefined) return { ok: false, error: 'the pod has no skillpod.io/grants annotation' };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    return { ok: false, error: `skillpod.io/grants is not JSON: ${(err as Error).message}` };
  }
  const parsed = SnapshotSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: `skillpod.io/grants is invalid: ${parsed.error.issues[0]?.message ?? ''}` };
  return { ok: true, snapshot: parsed.data };
}

export const EMPTY_SNAPSHOT: GrantSnapshot = Object.freeze({ version: 1, packs: Object.freeze({}) });

/** Names of the run's skills, sorted. */
export function skillNames(run: Pick<AgentRun, 'spec'>): string[] {
  return [...new Set((run.spec.skills ?? []).map((s) => s.name))].sort();
}

/**
 * What every skill of the run holds now, sorted by name. `snapshot` is undefined before the pod exists (skills and
 * packs may change freely then) and the pod's parsed snapshot afterwards.
 */
export function skillGrants(run: Pick<AgentRun, 'spec'>, packs: PackMap, snapshot?: GrantSnapshot): SkillGrant[] {
  const bySkill = new Map((run.spec.skills ?? []).map((s) => [s.name, s.enabled !== false]));
  return skillNames(run).map((name) => {
    const enabled = bySkill.get(name) ?? true;
    const pack = packs.get(name);
    const held = snapshot?.packs[name];
    const inPod = snapshot === undefined || held !== undefined;
    const granted = enabled && pack !== undefined && inPod;
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
 * The value of the pod's `skillpod.io/disabled-skills` annotation: the skills of the pod whose gate is closed
 * (switched off, or pack missing or not Ready), sorted, comma-separated; '' when every gate is open.
 */
export function disabledSkills(grants: readonly SkillGrant[]): string {
  return grants
    .filter((g) => g.inPod && !g.granted)
    .map((g) => g.name)
    .join(',');
}
