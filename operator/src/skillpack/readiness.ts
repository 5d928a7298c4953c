// Whether a SkillPack may be used by runs: valid by the schema (the CRD already refuses most mistakes; this
// catches packs written before a stricter version) and within the grant policy.
import { parseSkillPack, type SkillPack } from '../api/index.ts';
import { freeArgumentTools, freeArgumentViolations, packViolations, type GrantPolicy } from '../policy/grant-policy.ts';
import type { ConditionInput } from '../status/conditions.ts';

export const REASON_VALID = 'Valid';
export const REASON_INVALID_SPEC = 'InvalidSpec';
export const REASON_OUTSIDE_GRANT_POLICY = 'OutsideGrantPolicy';
export const REASON_FREE_ARGUMENTS_WITH_CREDENTIALS = 'FreeArgumentsWithCredentials';

/** Condition type that says whether a pack has free-argument tools (the exception to typed tools). */
export const CONDITION_FREE_ARGUMENTS = 'FreeArguments';
export const REASON_FREE_ARGUMENT_TOOLS = 'FreeArgumentTools';
export const REASON_TYPED_TOOLS_ONLY = 'TypedToolsOnly';

export interface Readiness {
  pack?: SkillPack;
  condition: ConditionInput;
  /** Present when the pack parses: whether it has free-argument tools, so `use` of such a pack is visible. */
  freeArguments?: ConditionInput;
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
  const pack = parsed.value;
  const freeArguments = freeArgumentsCondition(pack, generation);
  const violations = packViolations(pack.spec.rbac, policy);
  if (violations.length > 0) {
    return { pack, freeArguments, condition: { ...base, status: 'False', reason: REASON_OUTSIDE_GRANT_POLICY, message: summarize(violations) } };
  }
  const freeViolations = freeArgumentViolations(pack.spec, policy);
  if (freeViolations.length > 0) {
    return { pack, freeArguments, condition: { ...base, status: 'False', reason: REASON_FREE_ARGUMENTS_WITH_CREDENTIALS, message: summarize(freeViolations) } };
  }
  const tools = pack.spec.tools.map((t) => t.name).join(', ');
  return { pack, freeArguments, condition: { ...base, status: 'True', reason: REASON_VALID, message: `tools: ${tools}` } };
}

function freeArgumentsCondition(pack: SkillPack, generation: number | undefined): ConditionInput {
  const free = freeArgumentTools(pack.spec);
  const base = { type: CONDITION_FREE_ARGUMENTS, observedGeneration: generation };
  if (free.length === 0) return { ...base, status: 'False', reason: REASON_TYPED_TOOLS_ONLY, message: 'every tool is typed or takes no input' };
  return {
    ...base,
    status: 'True',
    reason: REASON_FREE_ARGUMENT_TOOLS,
    message: summarize([`free arguments in ${free.join(', ')}: only the argument policy checks what the agent passes; assume the agent can read whatever this sidecar can`]),
  };
}
