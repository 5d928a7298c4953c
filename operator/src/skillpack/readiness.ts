// Whether a SkillPack may be used by runs: valid by the schema (the CRD already refuses most mistakes; this
// catches packs written before a stricter version) and within the grant policy.
import { parseSkillPack, type SkillPack } from '../api/index.ts';
import { packViolations, type GrantPolicy } from '../policy/grant-policy.ts';
import type { ConditionInput } from '../status/conditions.ts';

export const REASON_VALID = 'Valid';
export const REASON_INVALID_SPEC = 'InvalidSpec';
export const REASON_OUTSIDE_GRANT_POLICY = 'OutsideGrantPolicy';

export interface Readiness {
  pack?: SkillPack;
  condition: ConditionInput;
}

const MAX_MESSAGE = 1024;

function summarize(problems: string[]): string {
  const text = problems.join('; ');
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

export function skillPackReadiness(object: unknown, policy: GrantPolicy, generation: number | undefined): Readiness {
  const base = { type: 'Ready', observedGeneration: generation };
  const parsed = parseSkillPack(object);
  if (!parsed.ok) {
    return { condition: { ...base, status: 'False', reason: REASON_INVALID_SPEC, message: summarize(parsed.issues.map((i) => `${i.path}: ${i.message}`)) } };
  }
  const violations = packViolations(parsed.value.spec.rbac, policy);
  if (violations.length > 0) {
    return { pack: parsed.value, condition: { ...base, status: 'False', reason: REASON_OUTSIDE_GRANT_POLICY, message: summarize(violations) } };
  }
  const tools = parsed.value.spec.tools.map((t) => t.name).join(', ');
  return { pack: parsed.value, condition: { ...base, status: 'True', reason: REASON_VALID, message: `tools: ${tools}` } };
}
