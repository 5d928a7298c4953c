// Whether a SkillPack may be used by runs: valid by the schema (the CRD already refuses most mistakes; this
// catches packs written before a stricter version) and within the grant policy.
import { PackCondition, PackReason, type SkillPack } from '../api/index.ts';
import { freeArgumentTools, freeArgumentViolations, packViolations, type GrantPolicy } from '../policy/grant-policy.ts';
import type { ConditionInput } from '../status/conditions.ts';
import type { CachedPack } from './cached.ts';


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

const memo = new WeakMap<CachedPack, { policy: GrantPolicy; readiness: Readiness }>();

/** skillPackReadiness, computed once per cached pack and policy: every run that names a pack asks on every pass. */
export function readinessOf(cached: CachedPack, policy: GrantPolicy): Readiness {
  const known = memo.get(cached);
  if (known?.policy === policy) return known.readiness;
  const readiness = skillPackReadiness(cached, policy);
  memo.set(cached, { policy, readiness });
  return readiness;
}

export function skillPackReadiness(cached: CachedPack, policy: GrantPolicy): Readiness {
  const generation = cached.metadata.generation;
  const base = { type: PackCondition.Ready, observedGeneration: generation };
  if (!cached.pack) {
    return { condition: { ...base, status: 'False', reason: PackReason.InvalidSpec, message: summarize(cached.issues.map((i) => `${i.path}: ${i.message}`)) } };
  }
  const pack = cached.pack;
  const freeArguments = freeArgumentsCondition(pack, generation);
  const violations = packViolations(pack.spec.rbac, policy);
  if (violations.length > 0) {
    return { pack, freeArguments, condition: { ...base, status: 'False', reason: PackReason.OutsideGrantPolicy, message: summarize(violations) } };
  }
  const freeViolations = freeArgumentViolations(pack.spec, policy);
  if (freeViolations.length > 0) {
    return { pack, freeArguments, condition: { ...base, status: 'False', reason: PackReason.FreeArgumentsWithCredentials, message: summarize(freeViolations) } };
  }
  const tools = pack.spec.tools.map((t) => t.name).join(', ');
  return { pack, freeArguments, condition: { ...base, status: 'True', reason: PackReason.Valid, message: `tools: ${tools}` } };
}

function freeArgumentsCondition(pack: SkillPack, generation: number | undefined): ConditionInput {
  const free = freeArgumentTools(pack.spec);
  const base = { type: PackCondition.FreeArguments, observedGeneration: generation };
  if (free.length === 0) return { ...base, status: 'False', reason: PackReason.TypedToolsOnly, message: 'every tool is typed or takes no input' };
  return {
    ...base,
    status: 'True',
    reason: PackReason.FreeArgumentTools,
    message: summarize([`free arguments in ${free.join(', ')}: only the argument policy checks what the agent passes; assume the agent can read whatever this sidecar can`]),
  };
}
