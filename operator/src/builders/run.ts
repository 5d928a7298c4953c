// The identity of the run every builder needs, checked once.
import type { AgentRun } from '../api/index.ts';
import { childName, clusterChildName } from './names.ts';

export interface RunRef {
  name: string;
  namespace: string;
  uid: string;
  /** `<name>-<uid suffix>`: ServiceAccount, Role, RoleBinding, ConfigMap, NetworkPolicy and Pod. */
  childName: string;
  /** `skillpod:<namespace>:<child name>`: ClusterRole and ClusterRoleBinding. */
  clusterChildName: string;
}

/** Throws when the run lacks a name, namespace or UID: only runs read from the API server can be built. */
export function runRef(run: Pick<AgentRun, 'metadata'>): RunRef {
  const { name, namespace, uid } = run.metadata;
  if (!name || !namespace || !uid) {
    throw new Error('an AgentRun read from the API server (with metadata.name, namespace and uid) is required');
  }
  return {
    name,
    namespace,
    uid,
    childName: childName(name, uid),
    clusterChildName: clusterChildName(namespace, name, uid),
  };
}
