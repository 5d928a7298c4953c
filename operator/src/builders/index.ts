// Pure desired-state builders: (AgentRun, SkillPacks, settings, a few observed facts) → the objects of a run.
// No I/O and no clock; the reconciler applies what comes out.
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1Pod,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { AgentRun } from '../api/index.ts';
import { buildConfigMap } from './configmap.ts';
import { disabledSkills, skillGrants, type GrantSnapshot, type PackMap, type SkillGrant } from './grants.ts';
import { buildIsolationNetworkPolicy, buildNetworkPolicy, type APIServerEndpoint } from './network-policy.ts';
import { buildPod, podProblem, type BuilderSettings, type PodProblem } from './pod.ts';
import { buildClusterRole, buildClusterRoleBinding, buildRole, buildRoleBinding, buildServiceAccount } from './rbac.ts';
import { runRef, type RunRef } from './run.ts';

export * from './names.ts';
export * from './labels.ts';
export * from './owner.ts';
export * from './run.ts';
export * from './rules.ts';
export * from './egress.ts';
export * from './grants.ts';
export * from './rbac.ts';
export * from './network-policy.ts';
export * from './configmap.ts';
export * from './resources.ts';
export * from './security.ts';
export * from './pod-paths.ts';
export * from './pod.ts';

export interface RunObjectsInput {
  /** The run as read from the API server (name, namespace and uid set; schema defaults applied). */
  run: AgentRun;
  /** SkillPacks by name: only those that exist and are Ready. Any other skill of the run is revoked. */
  packs: PackMap;
  settings: BuilderSettings;
  /**
   * Once the pod exists: its parsed `skillpod.io/grants` annotation (EMPTY_SNAPSHOT if it does not parse).
   * Undefined before the pod exists, when skills and packs may change freely.
   */
  snapshot?: GrantSnapshot | undefined;
  /** Addresses of the API server (the `default/kubernetes` EndpointSlice); needed while a skill holds RBAC. */
  apiServer?: readonly APIServerEndpoint[] | undefined;
  /** Where DNS is; DEFAULT_DNS_PEERS (kube-system, k8s-app=kube-dns) when absent. */
  dnsPeers?: readonly V1NetworkPolicyPeer[] | undefined;
}

export interface RunObjects {
  run: RunRef;
  serviceAccount: V1ServiceAccount;
  /** Absent when no granted skill has namespaced rules: delete the Role and RoleBinding then. */
  role?: V1Role;
  roleBinding?: V1RoleBinding;
  /** Absent when no granted skill has clusterRules: delete the ClusterRole and ClusterRoleBinding then. */
  clusterRole?: V1ClusterRole;
  clusterRoleBinding?: V1ClusterRoleBinding;
  networkPolicy: V1NetworkPolicy;
  /** What networkPolicy becomes once the run has ended while its pod has not: deny everything. */
  isolationPolicy: V1NetworkPolicy;
  configMap: V1ConfigMap;
  /** Absent when podProblem is set. Create it once; never update it. */
  pod?: V1Pod;
  podProblem?: PodProblem;
  /** Per skill of the spec, sorted by name: what it holds now (for status.skills and events). */
  skills: SkillGrant[];
  /** The value the pod's `skillpod.io/disabled-skills` annotation should have now. */
  disabledSkills: string;
}

export function buildRunObjects(input: RunObjectsInput): RunObjects {
  const ref = runRef(input.run);
  const skills = skillGrants(input.run, input.packs, input.snapshot);
  const role = buildRole(ref, skills);
  const clusterRole = buildClusterRole(ref, skills);
  const problem = podProblem(input.run, input.packs, input.settings);
  const out: RunObjects = {
    run: ref,
    serviceAccount: buildServiceAccount(ref),
    networkPolicy: buildNetworkPolicy(ref, input.run, skills, { apiServer: input.apiServer, dnsPeers: input.dnsPeers }),
    isolationPolicy: buildIsolationNetworkPolicy(ref),
    configMap: buildConfigMap(ref, input.run, input.packs, input.snapshot),
    skills,
    disabledSkills: disabledSkills(skills),
  };
  if (role) {
    out.role = role;
    out.roleBinding = buildRoleBinding(ref);
  }
  if (clusterRole) {
    out.clusterRole = clusterRole;
    out.clusterRoleBinding = buildClusterRoleBinding(ref);
  }
  if (problem) out.podProblem = problem;
  else out.pod = buildPod(ref, input.run, input.packs, input.settings);
  return out;
}
