import { describe, expect, it } from 'vitest';
import { DEFAULT_GRANT_POLICY, DEFAULT_GRANT_POLICY_SETTINGS } from '../policy/grant-policy.ts';
import type { KubeObject } from '../runtime/index.ts';
import { packForCache } from './cached.ts';
import { skillPackReadiness } from './readiness.ts';

function pack(spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'kubectl', generation: 3 },
    spec: { description: 'Read the cluster', image: 'registry.k8s.io/kubectl:v1.36.0',
      tools: [{ name: 'get', command: ['kubectl', 'get'] }], ...spec },
  } as KubeObject;
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
    { name: 'a free-argument tool without credentials', spec: { tools: [{ name: 'get', command: ['kubectl', 'get'], freeArguments: true }] }, status: 'True', reason: 'Valid' },
    { name: 'a free-argument tool beside RBAC',
      spec: { tools: [{ name: 'get', command: ['kubectl', 'get'], freeArguments: true }], rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } },
      status: 'False', reason: 'FreeArgumentsWithCredentials',
      message: 'spec.tools[0] (get): free arguments are not allowed in a pack that holds RBAC rules (grant policy freeArgumentsWithCredentials is false)' },
    { name: 'a free-argument tool beside a Secret',
      spec: { tools: [{ name: 'run', command: ['git'] }, { name: 'get', command: ['git'], freeArguments: true }], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
      status: 'False', reason: 'FreeArgumentsWithCredentials',
      message: 'spec.tools[1] (get): free arguments are not allowed in a pack that holds env from a Secret (grant policy freeArgumentsWithCredentials is false)' },
    { name: 'a typed tool beside RBAC and a Secret',
      spec: { tools: [{ name: 'get', command: ['kubectl', 'get'] }], rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, status: 'True', reason: 'Valid' },
  ])('$name', ({ spec, status, reason, message }) => {
    const { condition } = skillPackReadiness(packForCache(pack(spec)), DEFAULT_GRANT_POLICY);
    expect(condition).toMatchObject({ type: 'Ready', status, reason, observedGeneration: 3 });
    if (message) expect(condition.message).toBe(message);
  });

  it('a policy that allows free arguments with credentials accepts them', () => {
    const spec = { tools: [{ name: 'get', command: ['kubectl', 'get'], freeArguments: true }], rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } };
    const policy = { ...DEFAULT_GRANT_POLICY, settings: { ...DEFAULT_GRANT_POLICY_SETTINGS, freeArgumentsWithCredentials: true } };
    expect(skillPackReadiness(packForCache(pack(spec)), policy).condition).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it.each([
    { name: 'typed tools only', tools: [{ name: 'get', command: ['kubectl', 'get'] }], status: 'False', reason: 'TypedToolsOnly' },
    { name: 'a free-argument tool', tools: [{ name: 'get', command: ['kubectl', 'get'] }, { name: 'raw', command: ['kubectl'], freeArguments: true }], status: 'True', reason: 'FreeArgumentTools' },
  ])('FreeArguments condition: $name', ({ tools, status, reason }) => {
    const { freeArguments } = skillPackReadiness(packForCache(pack({ tools })), DEFAULT_GRANT_POLICY);
    expect(freeArguments).toMatchObject({ type: 'FreeArguments', status, reason, observedGeneration: 3 });
    if (status === 'True') expect(freeArguments?.message).toContain('free arguments in raw');
  });

  it('names every violation but keeps the message bounded', () => {
    const rules = Array.from({ length: 30 }, (_, i) => ({ apiGroups: [''], resources: [`secret${i}s`], verbs: ['get'] }));
    const { condition } = skillPackReadiness(packForCache(pack({ rbac: { rules } })), DEFAULT_GRANT_POLICY);
    expect(condition.message.length).toBeLessThanOrEqual(1024);
    expect(condition.message).toContain('spec.rbac.rules[0]');
  });
});
