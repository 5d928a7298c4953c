// The grant snapshot's format and what a pack would grant unbounded. What each skill of a run holds now is a
// decision, made in one place: agentrun/decide/holdings.ts.
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
import { normalizeEgress } from './egress.ts';
import { canonicalRules } from './rules.ts';

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
