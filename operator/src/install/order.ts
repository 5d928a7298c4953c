// Pure parts of `make install`: the order objects are applied in, and what it renders from the grant policy.
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseGrantPolicyData } from '../policy/configmap.ts';
import { DEFAULT_OPERATOR_IDENTITY, grantableClusterRole, grantableClusterRoleBinding, type OperatorIdentity } from '../policy/grantable-role.ts';
import { agentRunAdmissionObjects } from '../policy/agentrun-admission.ts';
import { operatorBoundsPolicy } from '../policy/operator-bounds.ts';
import { skillPackAdmissionPolicy } from '../policy/skillpack-admission.ts';

/**
 * Helm's install order for the kinds we ship (helm.sh/helm/v3/pkg/releaseutil/kind_sorter.go): the namespace
 * before what lives in it, a policy's parameter before the policy, the policy before its binding. Unknown kinds
 * go last; within a kind, file order holds.
 */
const KIND_ORDER = [
  'Namespace', 'ServiceAccount', 'ConfigMap', 'Secret', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding',
  'Role', 'RoleBinding', 'Service', 'Deployment', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
];

export function installOrder<T extends KubernetesObject>(objects: readonly T[]): T[] {
  const rank = (o: T) => {
    const i = KIND_ORDER.indexOf(o.kind ?? '');
    return i === -1 ? KIND_ORDER.length : i;
  };
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map(({ o }) => o);
}

/** The operator's ServiceAccount among the installed objects (labelled app.kubernetes.io/name=skillpod-operator). */
export function operatorIdentity(objects: readonly KubernetesObject[]): OperatorIdentity {
  const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata?.labels?.['app.kubernetes.io/name'] === 'skillpod-operator');
  return sa?.metadata?.name && sa.metadata.namespace ? { namespace: sa.metadata.namespace, serviceAccount: sa.metadata.name } : DEFAULT_OPERATOR_IDENTITY;
}

/**
 * What install renders from the grant policy in `data`: the operator's grantable ClusterRole and its binding, the
 * SkillPack admission policy, the operator-bounds policy (the same allowlist) and the AgentRun policies (the settings
 * namespacedUse and agentEgress*); and what it had to leave out of the policy.
 */
export function renderedFromGrantPolicy(data: Readonly<Record<string, string>> | undefined, installed: readonly KubernetesObject[]): { objects: KubernetesObject[]; problems: string[] } {
  const { policy, problems } = parseGrantPolicyData(data);
  const identity = operatorIdentity(installed);
  return {
    objects: [grantableClusterRole(policy), grantableClusterRoleBinding(identity), skillPackAdmissionPolicy(data, identity.namespace),
      operatorBoundsPolicy(data, identity.namespace, identity.serviceAccount),
      ...(agentRunAdmissionObjects(data, identity.namespace) as KubernetesObject[]).filter((o) => o.kind === 'ValidatingAdmissionPolicy')],
    problems,
  };
}
