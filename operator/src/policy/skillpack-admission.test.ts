import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEVER_GRANTABLE_RESOURCES, NEVER_GRANTABLE_VERBS } from './grant-policy.ts';
import { celAllowlist, shippedGrantPolicyData, skillPackAdmissionPolicy, skillPackAdmissionYaml } from './skillpack-admission.ts';

const root = resolve(import.meta.dirname, '../../..');

interface Policy { spec: { variables: Array<{ name: string; expression: string }>; validations: Array<{ messageExpression: string }>; paramKind?: unknown } }

describe('the SkillPack admission policy', () => {
  it('in helm/skillpod/files is the rendering of grant-policy.yaml (regenerate: npx node operator/src/policy/skillpack-admission.ts > helm/skillpod/files/admission-skillpack-grant-policy.yaml)', () => {
    expect(readFileSync(resolve(root, 'helm/skillpod/files/admission-skillpack-grant-policy.yaml'), 'utf8')).toBe(skillPackAdmissionYaml(shippedGrantPolicyData(root)));
  });

  it.each<{ name: string; data: Record<string, string>; want: string }>([
    { name: 'nothing', data: {}, want: '{}' },
    { name: 'canonical keys and verbs', data: { 'pods': ' watch,get', 'deployments.apps': 'list' }, want: "{'deployments.apps': 'list', 'pods': 'get,watch'}" },
    { name: 'what does not parse is left out, so nothing can break out of the quotes', data: { "pods'": 'get', pods: "get,x' || true", nodes: 'escalate' }, want: "{'pods': 'get'}" },
  ])('writes the allowlist as a CEL map: $name', ({ data, want }) => {
    expect(celAllowlist(data)).toBe(want);
  });

  it('refuses the never-grantable verbs and resources whatever the allowlist says, and takes no parameter', () => {
    const policy = skillPackAdmissionPolicy({ pods: 'get' }) as Policy;
    const variable = (name: string) => policy.spec.variables.find((v) => v.name === name)?.expression;
    expect(variable('neverVerbs')).toBe(`[${NEVER_GRANTABLE_VERBS.map((v) => `'${v}'`).join(', ')}]`);
    expect(variable('neverResources')).toBe(`[${NEVER_GRANTABLE_RESOURCES.map((v) => `'${v}'`).join(', ')}]`);
    expect(policy.spec.paramKind).toBeUndefined();
    expect(policy.spec.validations[0]?.messageExpression).toContain('the grant policy (ConfigMap skillpod-system/skillpod-grant-policy, as installed)');
    expect((skillPackAdmissionPolicy({}, 'ops') as Policy).spec.validations[0]?.messageExpression).toContain('ConfigMap ops/skillpod-grant-policy');
  });
});
