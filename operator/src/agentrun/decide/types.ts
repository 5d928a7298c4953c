// What decide() reads (Observed) and what it returns (Intent). Both plain data: observe.ts fills the first from the
// caches, act.ts carries out the second.
import type { V1Pod } from '@kubernetes/client-node';
import type { AgentRunStatus, SkillPack } from '../../api/index.ts';
import type { APIServerEndpoint, BuilderSettings } from '../../builders/index.ts';
import type { GrantPolicy } from '../../policy/grant-policy.ts';
import type { CachedRun, PodView } from '../views.ts';

/** A skill's pack as the run sees it: missing, not Ready (with why), or usable. */
export interface PackView {
  pack?: SkillPack;
  ready: boolean;
  reason: string;
  message: string;
}

export interface Observed {
  run: CachedRun;
  /** One entry per skill name of the spec. */
  packs: ReadonlyMap<string, PackView>;
  pod?: PodView | undefined;
  /** status.podName is set and a direct read confirmed the pod is gone. */
  podLost: boolean;
  /** Addresses of the API server, for the egress of skills that hold RBAC. */
  apiServer: readonly APIServerEndpoint[];
  grantPolicy: GrantPolicy;
  settings: BuilderSettings & { podRetention: 'keep' | 'delete' };
}

/** An object to delete, by kind and name (namespaced unless cluster-scoped). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** An object to server-side apply (what the builders render). */
export interface Applied {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * Everything one pass does, in the order act() does it: the finalizer before cluster-scoped grants exist; applies and
 * deletes (bindings after their roles); the pod, once; the gate; the pod's deletion; the finalizer's release after
 * every cluster-scoped grant is gone; the status last; the events; the run's own deletion.
 */
export interface Intent {
  /** `add` before any cluster-scoped grant is applied; `remove` once they are deleted. */
  finalizer?: 'add' | 'remove';
  apply: Applied[];
  delete: ObjectRef[];
  /** Create this pod (once: act re-reads the run to be sure no pod was recorded). */
  createPod?: V1Pod;
  /** Set the pod's `skillpod.io/disabled-skills` gate to this value. */
  gate?: { pod: string; value: string };
  deletePod?: string;
  /** The status to write; undefined when it would not change. */
  status?: AgentRunStatus;
  events: PlannedEvent[];
  deleteRun: boolean;
  requeueAfterMs?: number;
}
