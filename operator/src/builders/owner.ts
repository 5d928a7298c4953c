// Controller owner reference from a namespaced child to its AgentRun: deleting the run deletes the child, and
// watches on children map back to the run. Cluster-scoped children cannot have one (they carry labels instead).
import type { V1OwnerReference } from '@kubernetes/client-node';
import { OWNER_API_VERSION, OWNER_KIND } from './names.ts';
import type { RunRef } from './run.ts';

export function ownerReference(run: RunRef): V1OwnerReference {
  return {
    apiVersion: OWNER_API_VERSION,
    kind: OWNER_KIND,
    name: run.name,
    uid: run.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
