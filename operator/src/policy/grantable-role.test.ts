import { describe, expect, it } from 'vitest';
import { grantTuples, parseGrantPolicyData } from './configmap.ts';
import { DEFAULT_GRANT_POLICY, type GrantPolicy } from './grant-policy.ts';
import { grantableClusterRole, grantableClusterRoleBinding, grantableRules } from './grantable-role.ts';

describe('grantableRules', () => {
  it.each<{ name: string; policy: GrantPolicy; want: unknown }>([
    { name: 'nothing grantable', policy: { rules: [], clusterRules: [] }, want: [] },
    { name: 'one rule per resource, in the order of the grant policy keys, verbs sorted', policy: { rules: [
      { apiGroups: [''], resources: ['services'], verbs: ['list', 'get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    ], clusterRules: [] }, want: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] },
    ] },
    { name: 'verbs of one resource from several entries merge', policy: { rules: [
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
    ], clusterRules: [] }, want: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }] },
    { name: 'cluster rules are held too (their keys sort first: cluster_…)', policy: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
      clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] },
    want: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }, { apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
    { name: 'subresources and groups as the keys spell them', policy: { rules: [
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ], clusterRules: [] }, want: [
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ] },
  ])('$name', ({ policy, want }) => {
    expect(grantableRules(policy)).toEqual(want);
  });

  it('holds exactly what the policy allows, nothing more', () => {
    const rules = grantableRules(DEFAULT_GRANT_POLICY);
    const asPolicy: GrantPolicy = { rules: rules.map((r) => ({ apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], verbs: r.verbs })), clusterRules: [] };
    expect(grantTuples(asPolicy)).toEqual(grantTuples(DEFAULT_GRANT_POLICY));
    expect(rules.flatMap((r) => r.verbs)).not.toContain('escalate');
    expect(rules.flatMap((r) => r.verbs)).not.toContain('bind');
  });

  it('renders the same object for the same policy however the ConfigMap orders it', () => {
    const a = parseGrantPolicyData({ pods: 'get,list', 'deployments.apps': 'get' }).policy;
    const b = parseGrantPolicyData({ 'deployments.apps': 'get', pods: 'list,get' }).policy;
    expect(grantableClusterRole(a)).toEqual(grantableClusterRole(b));
  });
});

describe('the grantable ClusterRole and binding', () => {
  it('bind the operator ServiceAccount', () => {
    expect(grantableClusterRole(DEFAULT_GRANT_POLICY).metadata?.name).toBe('skillpod-operator-grantable');
    expect(grantableClusterRoleBinding()).toMatchObject({
      metadata: { name: 'skillpod-operator-grantable' },
      roleRef: { kind: 'ClusterRole', name: 'skillpod-operator-grantable' },
      subjects: [{ kind: 'ServiceAccount', name: 'skillpod-operator', namespace: 'skillpod-system' }],
    });
    expect(grantableClusterRoleBinding({ namespace: 'ops', serviceAccount: 'sp' }).subjects).toEqual([{ kind: 'ServiceAccount', name: 'sp', namespace: 'ops' }]);
  });
});
