// The operator's grantable ClusterRole: exactly what the grant policy lets packs grant, bound to the operator's
// ServiceAccount. Kubernetes lets a subject create a Role or RoleBinding only with permissions it holds itself
// (unless it has `escalate`/`bind`, which the operator does not), so this role is what makes the operator able to
// hand a pack's rules to a run, and no more. Namespaced entries are held in every namespace (a ClusterRoleBinding),
// because runs live in every namespace; cluster entries are the same kind of rule. Pure.
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule } from '@kubernetes/client-node';
import type { GrantPolicy } from './grant-policy.ts';

export const GRANTABLE_CLUSTER_ROLE = 'skillpod-operator-grantable';

export interface OperatorIdentity {
  namespace: string;
  serviceAccount: string;
}

export const DEFAULT_OPERATOR_IDENTITY: OperatorIdentity = { namespace: 'skillpod-system', serviceAccount: 'skillpod-operator' };

const LABELS = { 'app.kubernetes.io/name': 'skillpod-operator', 'app.kubernetes.io/part-of': 'skillpod' };
const ANNOTATIONS = { 'skillpod.io/rendered-from': 'the grant policy ConfigMap skillpod-grant-policy; do not edit by hand' };

/**
 * One rule per (group, verbs) with its resources sorted, groups and verb sets in a stable order, so the same
 * policy always renders the same object (server-side apply then changes nothing).
 */
export function grantableRules(policy: GrantPolicy): V1PolicyRule[] {
  const verbsOf = new Map<string, Set<string>>(); // "group\0resource" → verbs
  for (const entry of [...policy.rules, ...policy.clusterRules]) {
    for (const group of entry.apiGroups) {
      for (const resource of entry.resources) {
        const key = `${group}\0${resource}`;
        const verbs = verbsOf.get(key) ?? new Set<string>();
        for (const v of entry.verbs) verbs.add(v);
        verbsOf.set(key, verbs);
      }
    }
  }
  const byGroupAndVerbs = new Map<string, { group: string; verbs: string[]; resources: string[] }>();
  for (const [key, verbs] of verbsOf) {
    const [group = '', resource = ''] = key.split('\0');
    const sorted = [...verbs].sort();
    const id = `${group}\0${sorted.join(',')}`;
    const rule = byGroupAndVerbs.get(id) ?? { group, verbs: sorted, resources: [] };
    rule.resources.push(resource);
    byGroupAndVerbs.set(id, rule);
  }
  return [...byGroupAndVerbs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => ({ apiGroups: [r.group], resources: r.resources.sort(), verbs: r.verbs }));
}

export function grantableClusterRole(policy: GrantPolicy): V1ClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: GRANTABLE_CLUSTER_ROLE, labels: { ...LABELS }, annotations: { ...ANNOTATIONS } },
    rules: grantableRules(policy),
  };
}

export function grantableClusterRoleBinding(identity: OperatorIdentity = DEFAULT_OPERATOR_IDENTITY): V1ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: GRANTABLE_CLUSTER_ROLE, labels: { ...LABELS } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: GRANTABLE_CLUSTER_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace }],
  };
}
