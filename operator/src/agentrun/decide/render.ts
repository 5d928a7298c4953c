// The objects of a live run, rendered by the builders from the holdings decided in holdings.ts. decide() renders
// the grants on every pass (they may change) and the pod only when it is to be created; buildRunObjects renders
// everything at once, for tests, golden files and the benchmark's floor.
import type {
  V1ClusterRole, V1ClusterRoleBinding, V1ConfigMap, V1NetworkPolicy, V1NetworkPolicyPeer, V1Pod, V1Role, V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { AgentRun } from '../../api/index.ts';
import {
  buildClusterRole, buildClusterRoleBinding, buildConfigMap, buildNetworkPolicy, buildPod, buildRole, buildRoleBinding,
  buildServiceAccount, podProblem, runRef,
  type APIServerEndpoint, type BuilderSettings, type GrantSnapshot, type PackMap, type PodProblem, type RunRef, type SkillGrant,
} from '../../builders/index.ts';
import { gateValue, skillHoldings } from './holdings.ts';

export interface GrantObjects {
  serviceAccount: V1ServiceAccount;
  /** Absent when no skill holds namespaced rules: the Role and RoleBinding are deleted then. */
  role?: V1Role;
  roleBinding?: V1RoleBinding;
  /** Absent when no skill holds cluster-wide rules: the ClusterRole and ClusterRoleBinding are deleted then. */
  clusterRole?: V1ClusterRole;
  clusterRoleBinding?: V1ClusterRoleBinding;
  networkPolicy: V1NetworkPolicy;
  configMap: V1ConfigMap;
}

export interface GrantContext {
  packs: PackMap;
  snapshot?: GrantSnapshot | undefined;
  apiServer?: readonly APIServerEndpoint[] | undefined;
  dnsPeers?: readonly V1NetworkPolicyPeer[] | undefined;
}

/** What a live run holds, as objects: its ServiceAccount, RBAC, NetworkPolicy and the ConfigMap its pod mounts. */
export function renderGrants(ref: RunRef, run: Pick<AgentRun, 'spec'>, holdings: readonly SkillGrant[], ctx: GrantContext): GrantObjects {
  const out: GrantObjects = {
    serviceAccount: buildServiceAccount(ref),
    networkPolicy: buildNetworkPolicy(ref, run, holdings, { apiServer: ctx.apiServer, dnsPeers: ctx.dnsPeers }),
    configMap: buildConfigMap(ref, run, ctx.packs, ctx.snapshot),
  };
  const role = buildRole(ref, holdings);
  if (role) Object.assign(out, { role, roleBinding: buildRoleBinding(ref) });
  const clusterRole = buildClusterRole(ref, holdings);
  if (clusterRole) Object.assign(out, { clusterRole, clusterRoleBinding: buildClusterRoleBinding(ref) });
  return out;
}

export interface RunObjectsInput extends GrantContext {
  /** The run as read from the API server (name, namespace and uid set; schema defaults applied). */
  run: AgentRun;
  settings: BuilderSettings;
}

export interface RunObjects extends GrantObjects {
  run: RunRef;
  /** Absent when podProblem is set. */
  pod?: V1Pod;
  podProblem?: PodProblem;
  /** Per skill of the spec, sorted by name: what it holds now. */
  skills: SkillGrant[];
  /** The pod's `skillpod.io/disabled-skills` gate now. */
  disabledSkills: string;
}

/** Every object of a live run at once (tests, golden files, the benchmark's floor). */
export function buildRunObjects(input: RunObjectsInput): RunObjects {
  const ref = runRef(input.run);
  const skills = skillHoldings({ run: input.run, packs: input.packs, snapshot: input.snapshot });
  const gate = gateValue(skills);
  const problem = podProblem(input.run, input.packs, input.settings);
  return {
    run: ref,
    ...renderGrants(ref, input.run, skills, input),
    ...(problem ? { podProblem: problem } : { pod: buildPod(ref, input.run, input.packs, input.settings, gate) }),
    skills,
    disabledSkills: gate,
  };
}
