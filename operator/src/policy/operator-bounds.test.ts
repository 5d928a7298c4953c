import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { operatorBoundsPolicy, operatorBoundsYaml } from './operator-bounds.ts';
import { celAllowlist, shippedGrantPolicyData, skillPackAdmissionPolicy } from './skillpack-admission.ts';

const root = resolve(import.meta.dirname, '../../..');

interface Policy { spec: { variables: Array<{ name: string; expression: string }>; matchConditions: Array<{ expression: string }>; paramKind?: unknown } }
const variable = (p: object, name: string) => (p as Policy).spec.variables.find((v) => v.name === name)?.expression;

describe('the operator-bounds admission policy', () => {
  it('in helm/skillpod/files is the rendering of grant-policy.yaml (regenerate: npx node operator/src/policy/operator-bounds.ts > helm/skillpod/files/admission-operator-bounds.yaml)', () => {
    expect(readFileSync(resolve(root, 'helm/skillpod/files/admission-operator-bounds.yaml'), 'utf8')).toBe(operatorBoundsYaml(shippedGrantPolicyData(root)));
  });

  it('judges roles by the very allowlist the SkillPack policy holds, and the never-grantable lists, without a parameter', () => {
    for (const data of [shippedGrantPolicyData(root), { pods: 'get', cluster_nodes: 'list' }, {}]) {
      expect(variable(operatorBoundsPolicy(data), 'allowed')).toBe(celAllowlist(data));
      expect(variable(operatorBoundsPolicy(data), 'allowed')).toBe(variable(skillPackAdmissionPolicy(data), 'allowed'));
      for (const name of ['neverVerbs', 'neverResources']) expect(variable(operatorBoundsPolicy(data), name)).toBe(variable(skillPackAdmissionPolicy(data), name));
    }
    expect((operatorBoundsPolicy({}) as Policy).spec.paramKind).toBeUndefined();
  });

  it('matches the operator by its ServiceAccount user name', () => {
    expect((operatorBoundsPolicy({}, 'ops', 'op') as Policy).spec.matchConditions[0]?.expression).toBe("request.userInfo.username == 'system:serviceaccount:ops:op'");
  });
});
