// The operator's grantable ClusterRole: exactly what the grant policy lets packs grant, bound to the operator's
// ServiceAccount. Kubernetes lets a subject create a Role or RoleBinding only with permissions it holds itself
// (unless it has `escalate`/`bind`, which the operator does not), so this role is what makes the operator able to
// hand a pack's rules to a run, and no more. Namespaced entries are held in every namespace (a ClusterRoleBinding),
// because runs live in every namespace; cluster entries are the same kind of rule. Pure.
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule } from '@kubernetes/client-node';
import { grantPolicyData, parseGrantKey } from './configmap.ts';
import type { GrantPolicy } from './grant-policy.ts';

export const GRANTABLE_CLUSTER_ROLE = 'skillpod-operator-grantable';

export interface OperatorIdentity {
  namespace: string;
  serviceAccount: string;
}

export const DEFAULT_OPERATOR_IDENTITY: OperatorIdentity = { namespace: 'skillpod-system', serviceAccount: 'skillpod-operator' };

const LABELS = { 'app.kubernetes.io/name': 'skillpod-operator', 'app.kubernetes.io/part-of': 'skillpod' };
// The same text as the chart's (templates/grant-policy.yaml): `make install` and `helm install --take-ownership`
// apply the same value, so they share the field instead of conflicting.
const ANNOTATIONS = { 'skillpod.io/rendered-from': 'the grant policy (ConfigMap skillpod-grant-policy; with Helm, values.grantPolicy); do not edit by hand' };

/**
 * One rule per grant policy key (a resource of a group, cluster-scoped or not), in the order of the keys, with the
 * verbs sorted: exactly what the chart renders from values.grantPolicy (templates/grant-policy.yaml), so that
 * `make install` and `helm install --take-ownership` apply the same `rules` (an atomic list: server-side apply
 * would otherwise see two managers disagree), and the same policy always renders the same object.
 */
export function grantableRules(policy: GrantPolicy): V1PolicyRule[] {
  const data = grantPolicyData(policy);
  return Object.keys(data).sort().map((key) => {
    const { group, resource } = parseGrantKey(key)!;
    return { apiGroups: [group], resources: [resource], verbs: [...new Set(data[key]!.split(','))].sort() };
  });
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
