// What the informer caches hold: each object parsed once, where it enters the cache (the informers' `transform`),
// into the type the controllers read. Nothing downstream casts or parses again. At thousands of runs the caches are
// most of the operator's memory, so each view keeps only what is read:
// - AgentRuns (and SkillPacks: skillpack/cached.ts) parsed by their zod schemas (defaults applied), or, when invalid, the error and the
//   status as it is (the controller reports the error on it); never `metadata.managedFields`;
// - pods as a narrow view: the metadata the controller and the metrics read (labels, the grant snapshot already
//   parsed, the gate annotation, deletion) and the status fields pod-observation.ts reads. Never the spec: it is what
//   the builders rendered, and pods are never updated.
import { ANNOTATION_DISABLED_SKILLS, API_VERSION, parseAgentRun, type AgentRun, type AgentRunStatus } from '../api/index.ts';
import { ANNOTATION_GRANTS, parseGrantSnapshot, type SnapshotParse } from '../builders/index.ts';
import { cachedMeta, type CachedMeta, type KubeObject } from '../runtime/index.ts';

/** An AgentRun in the cache: parsed, or the parse error beside the status as the server has it. */
export type CachedRun =
  | { apiVersion: string; kind: 'AgentRun'; metadata: CachedMeta; run: AgentRun; invalid?: undefined; status?: AgentRunStatus }
  | { apiVersion: string; kind: 'AgentRun'; metadata: CachedMeta; run?: undefined; invalid: string; status?: AgentRunStatus };

export interface ContainerStateView {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { exitCode: number; reason?: string; message?: string; finishedAt?: string };
}

export interface ContainerStatusView {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerStateView;
  lastState?: ContainerStateView;
}

/** The part of a run's pod the operator reads. */
export interface PodView {
  kind: 'Pod';
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    /** Kept: a relist tells changed objects from unchanged ones by it (informer.ts diffReplace). */
    resourceVersion?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    /** The `skillpod.io/disabled-skills` gate as it is on the pod. */
    gate: string;
  };
  /** The `skillpod.io/grants` annotation, parsed (an unreadable one grants nothing: see builders/grants.ts). */
  snapshot: SnapshotParse;
  status: {
    phase?: string;
    reason?: string;
    message?: string;
    startTime?: string;
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
}


export function runForCache(obj: KubeObject): CachedRun {
  const metadata = cachedMeta(obj);
  const parsed = parseAgentRun({ ...obj, metadata });
  if (parsed.ok) return { apiVersion: API_VERSION, kind: 'AgentRun', metadata, run: parsed.value, ...(parsed.value.status ? { status: parsed.value.status } : {}) };
  const status = (obj as { status?: AgentRunStatus }).status;
  return { apiVersion: API_VERSION, kind: 'AgentRun', metadata, invalid: parsed.error, ...(status ? { status } : {}) };
}

interface RawPod extends KubeObject {
  status?: {
    phase?: string; reason?: string; message?: string; startTime?: string;
    containerStatuses?: RawContainerStatus[]; initContainerStatuses?: RawContainerStatus[];
  };
}
interface RawContainerStatus { name: string; ready?: boolean; started?: boolean; restartCount?: number; state?: RawState; lastState?: RawState }
interface RawState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string };
}

const stateView = (s: RawState | undefined): ContainerStateView | undefined => {
  if (!s) return undefined;
  const out: ContainerStateView = {};
  if (s.running) out.running = s.running.startedAt ? { startedAt: s.running.startedAt } : {};
  if (s.waiting) out.waiting = strip({ reason: s.waiting.reason, message: s.waiting.message });
  if (s.terminated) {
    out.terminated = strip({ exitCode: s.terminated.exitCode ?? 0, reason: s.terminated.reason, message: s.terminated.message, finishedAt: s.terminated.finishedAt });
  }
  return out;
};

const containerView = (c: RawContainerStatus): ContainerStatusView => strip({
  name: c.name, ready: c.ready ?? false, started: c.started, restartCount: c.restartCount,
  state: stateView(c.state), lastState: stateView(c.lastState),
});

/** Drops keys whose value is undefined (exactOptionalPropertyTypes, and smaller objects in the cache). */
function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

export function podForCache(obj: KubeObject): PodView {
  const pod = obj as RawPod;
  const m = obj.metadata ?? {};
  const s = pod.status ?? {};
  return {
    kind: 'Pod',
    metadata: strip({
      name: m.name ?? '', namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels, deletionTimestamp: m.deletionTimestamp,
      gate: m.annotations?.[ANNOTATION_DISABLED_SKILLS] ?? '',
    }),
    snapshot: parseGrantSnapshot(m.annotations?.[ANNOTATION_GRANTS]),
    status: strip({
      phase: s.phase, reason: s.reason, message: s.message, startTime: s.startTime,
      containerStatuses: s.containerStatuses?.map(containerView),
      initContainerStatuses: s.initContainerStatuses?.map(containerView),
    }),
  };
}
