import { describe, expect, it } from 'vitest';
import { DEFAULT_GRANT_POLICY } from '../policy/grant-policy.ts';
import { skillPackReadiness } from './readiness.ts';

function pack(spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'kubectl', generation: 3 },
    spec: { description: 'Read the cluster', image: 'registry.k8s.io/kubectl:v1.36.0',
      tools: [{ name: 'get', command: ['kubectl', 'get'] }], ...spec },
  };
}

describe('skillPackReadiness', () => {
  it.each([
    { name: 'a valid pack without RBAC', spec: {}, status: 'True', reason: 'Valid', message: 'tools: get' },
    { name: 'read-only RBAC within the default policy',
      spec: { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } }, status: 'True', reason: 'Valid' },
    { name: 'secrets', spec: { rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } },
      status: 'False', reason: 'OutsideGrantPolicy', message: 'spec.rbac.rules[0]: get on secrets is not in the grant policy' },
    { name: 'no tools', spec: { tools: [] }, status: 'False', reason: 'InvalidSpec', message: 'spec.tools: must not be empty' },
    { name: 'a tool without command', spec: { tools: [{ name: 'get' }] }, status: 'False', reason: 'InvalidSpec', message: 'spec.tools[0].command: is required' },
  ])('$name', ({ spec, status, reason, message }) => {
    const { condition } = skillPackReadiness(pack(spec), DEFAULT_GRANT_POLICY, 3);
    expect(condition).toMatchObject({ type: 'Ready', status, reason, observedGeneration: 3 });
    if (message) expect(condition.message).toBe(message);
  });

  it('names every violation but keeps the message bounded', () => {
    const rules = Array.from({ length: 30 }, (_, i) => ({ apiGroups: [''], resources: [`secret${i}s`], verbs: ['get'] }));
    const { condition } = skillPackReadiness(pack({ rbac: { rules } }), DEFAULT_GRANT_POLICY, 1);
    expect(condition.message.length).toBeLessThanOrEqual(1024);
    expect(condition.message).toContain('spec.rbac.rules[0]');
  });
});
