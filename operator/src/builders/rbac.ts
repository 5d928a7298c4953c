// The run's identity and permissions: one ServiceAccount, and only while some granted skill needs them, one Role
// and RoleBinding (namespaced rules) and one ClusterRole and ClusterRoleBinding (clusterRules). Nothing is shared
// between runs. Every skill sidecar with a token shares this one ServiceAccount (one pod, one identity).
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { clusterRunLabels, runLabels } from './labels.ts';
import { ownerReference } from './owner.ts';
import type { SkillGrant } from './grants.ts';
import { mergeRules } from './rules.ts';
import type { RunRef } from './run.ts';

const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Tokens are never mounted automatically: only the sidecars of packs with RBAC get one, projected (pod.ts). */
export function buildServiceAccount(run: RunRef): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    automountServiceAccountToken: false,
  };
}

/** The union of the granted skills' namespaced rules, canonical (merged, deduplicated, sorted). */
export function roleRules(grants: readonly SkillGrant[]): V1PolicyRule[] {
  return mergeRules(...grants.filter((g) => g.granted).map((g) => g.rules));
}

/** The union of the granted skills' cluster-wide rules, canonical. */
export function clusterRoleRules(grants: readonly SkillGrant[]): V1PolicyRule[] {
  return mergeRules(...grants.filter((g) => g.granted).map((g) => g.clusterRules));
}

/** The Role, or undefined when no granted skill has namespaced rules (the reconciler then deletes it). */
export function buildRole(run: RunRef, grants: readonly SkillGrant[]): V1Role | undefined {
  const rules = roleRules(grants);
  if (rules.length === 0) return undefined;
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'Role',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    rules,
  };
}

export function buildRoleBinding(run: RunRef): V1RoleBinding {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'RoleBinding',
    metadata: { name: run.childName, namespace: run.namespace, labels: runLabels(run), ownerReferences: [ownerReference(run)] },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: run.childName },
    subjects: [{ kind: 'ServiceAccount', name: run.childName, namespace: run.namespace }],
  };
}

/**
 * The ClusterRole, or undefined when no granted skill has clusterRules. Cluster-scoped: no owner reference (it
 * cannot point at a namespaced run); the run-namespace label and the orphan sweep stand in for it.
 */
export function buildClusterRole(run: RunRef, grants: readonly SkillGrant[]): V1ClusterRole | undefined {
  const rules = clusterRoleRules(grants);
  if (rules.length === 0) return undefined;
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRole',
    metadata: { name: run.clusterChildName, labels: clusterRunLabels(run) },
    rules,
  };
}

export function buildClusterRoleBinding(run: RunRef): V1ClusterRoleBinding {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: { name: run.clusterChildName, labels: clusterRunLabels(run) },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: run.clusterChildName },
    subjects: [{ kind: 'ServiceAccount', name: run.childName, namespace: run.namespace }],
  };
}
