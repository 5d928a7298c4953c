import { describe, expect, it } from 'vitest';
import { DEFAULT_GRANT_POLICY, packViolations, type GrantPolicy } from './grant-policy.ts';

const policy: GrantPolicy = {
  rules: [
    { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
  ],
  clusterRules: [],
};

describe('packViolations', () => {
  it.each([
    { name: 'no rbac', rbac: undefined, want: [] },
    { name: 'within the policy', rbac: { rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }] }, want: [] },
    { name: 'narrowed by resourceNames', rbac: { rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: ['web'] }] }, want: [] },
    { name: 'a verb outside', rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] }] },
      want: ['spec.rbac.rules[0]: delete on pods is not in the grant policy'] },
    { name: 'a group outside', rbac: { rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] }] },
      want: ['spec.rbac.rules[0]: get on jobs.batch is not in the grant policy'] },
    { name: 'secrets', rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] },
      want: ['spec.rbac.rules[0]: get on secrets is not in the grant policy'] },
    { name: 'wildcard verb', rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] },
      want: ["spec.rbac.rules[0]: verb '*' is never grantable"] },
    { name: 'wildcard resource', rbac: { rules: [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }] },
      want: ["spec.rbac.rules[0]: resource '*' is never grantable"] },
    { name: 'wildcard subresource', rbac: { rules: [{ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['get'] }] },
      want: ["spec.rbac.rules[0]: resource '*/scale' is never grantable"] },
    { name: 'escalate', rbac: { rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }] },
      want: ["spec.rbac.rules[0]: verb 'escalate' is never grantable"] },
    { name: 'token requests', rbac: { rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }] },
      want: ["spec.rbac.rules[0]: resource 'serviceaccounts/token' is never grantable"] },
    { name: 'cluster rules off', rbac: { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] },
      want: ['spec.rbac.clusterRules[0]: cluster rules are not allowed by the grant policy'] },
  ])('$name', ({ rbac, want }) => {
    expect(packViolations(rbac, policy)).toEqual(want);
  });

  it('checks cluster rules against their own list when the policy allows some', () => {
    const withCluster: GrantPolicy = { ...policy, clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }] };
    expect(packViolations({ clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] }, withCluster)).toEqual([]);
    expect(packViolations({ clusterRules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }] }, withCluster))
      .toEqual(['spec.rbac.clusterRules[0]: list on namespaces is not in the grant policy']);
    expect(packViolations({ clusterRules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] }, withCluster))
      .toEqual(['spec.rbac.clusterRules[0]: nonResourceURLs (/metrics) are never grantable']);
  });

  it('keeps the default policy read-only and free of credentials and code execution', () => {
    for (const entry of DEFAULT_GRANT_POLICY.rules) {
      expect(entry.verbs).toEqual(['get', 'list', 'watch']);
      for (const forbidden of ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward', 'serviceaccounts/token', 'nodes/proxy', '*']) {
        expect(entry.resources).not.toContain(forbidden);
      }
    }
    expect(DEFAULT_GRANT_POLICY.clusterRules).toEqual([]);
  });
});
