// act: carries out decide()'s intent, in the order the API server needs, and decides nothing. Each object is
// written once; the run's finalizer and status are written with the newest resourceVersion this pass has seen, so
// a pass that adds the finalizer does not send a stale version with its status (a 409 and a retry, every time).
import type { V1Pod } from '@kubernetes/client-node';
import { AGENTRUN, ANNOTATION_DISABLED_SKILLS, API_VERSION, LABEL_RUN_UID, ReadyReason, type AgentRun, type AgentRunStatus } from '../api/index.ts';
import type { EventRecorder } from '../events.ts';
import {
  classifyError, customResourceType, isAlreadyExists, keyOf, type Logger, type ObjectBody, type ReconcileResult, type ResourceClient,
} from '../runtime/index.ts';
import { FINALIZER, notReady, type Applied, type Intent, type ObjectRef, type PlannedEvent } from './decide/index.ts';
import type { Applier } from './kube-objects.ts';
import type { OwnWrites } from './own-writes.ts';
import type { CachedRun } from './views.ts';

export interface ActDeps {
  /** With the operator's field manager. */
  client: ResourceClient;
  applier: Applier;
  events: EventRecorder;
  ownWrites: OwnWrites;
  now: () => Date;
}

export const AGENTRUN_TYPE = customResourceType(API_VERSION, AGENTRUN);
const POD = { apiVersion: 'v1', kind: 'Pod' };
const nameOf = (run: { metadata: { namespace?: string | undefined; name?: string | undefined } }) => ({ namespace: run.metadata.namespace, name: run.metadata.name ?? '' });
const BINDINGS = new Set(['RoleBinding', 'ClusterRoleBinding']);

export async function act(deps: ActDeps, run: CachedRun, intent: Intent, log: Logger): Promise<ReconcileResult> {
  let resourceVersion = run.metadata.resourceVersion;
  if (intent.finalizer === 'add') resourceVersion = await setFinalizer(deps, run, true) ?? resourceVersion;
  // The fresh read that guards the pod's creation goes out beside the grants: one round trip less before the pod.
  const podNotRecorded = intent.createPod && run.run ? noPodRecorded(deps, run.run) : undefined;
  podNotRecorded?.catch(() => undefined); // awaited below; a failure of the grants must not leave it unhandled
  await refusalReported(deps, run, ReadyReason.GrantRefused, 'the run\'s permissions', () => writeObjects(deps.applier, intent.apply, intent.delete));
  if (intent.createPod && run.run && podNotRecorded) {
    const pod = intent.createPod;
    const live = run.run;
    if (!await podNotRecorded) return { requeue: true };
    await refusalReported(deps, run, ReadyReason.PodRefused, 'the run\'s pod', () => createPodOnce(deps, live, pod));
  }
  if (intent.gate) await setGate(deps, run.metadata.namespace ?? '', intent.gate.pod, intent.gate.value);
  if (intent.deletePod) await deps.applier.delete({ ...POD, namespace: run.metadata.namespace, name: intent.deletePod });
  if (intent.finalizer === 'remove') {
    resourceVersion = await setFinalizer(deps, run, false) ?? resourceVersion;
    log.info('cluster-scoped grants removed; finalizer released');
  }
  if (intent.status) await writeStatus(deps, run, resourceVersion, intent.status);
  record(deps, run, intent.events);
  if (intent.deleteRun) {
    log.info('ttlSecondsAfterFinished reached: deleting the run');
    await deps.client.delete(AGENTRUN_TYPE, nameOf(run), { propagationPolicy: 'Background', notFoundOk: true });
    return undefined;
  }
  return intent.requeueAfterMs !== undefined ? { requeueAfterMs: intent.requeueAfterMs } : undefined;
}

/** Applies and deletes at once; a binding only after every role (the API server checks a binding against its role). */
async function writeObjects(applier: Applier, apply: readonly Applied[], remove: readonly ObjectRef[]): Promise<void> {
  await all([
    ...apply.filter((o) => !BINDINGS.has(o.kind ?? '')).map((o) => applier.apply(o as ObjectBody)),
    ...remove.map((r) => applier.delete(r)),
  ]);
  await all(apply.filter((o) => BINDINGS.has(o.kind ?? '')).map((o) => applier.apply(o as ObjectBody)));
}

/** Waits for every write (none is left running behind a retry), then throws the first failure. */
async function all(writes: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Returns the run's new resourceVersion; undefined when the run is already gone (only possible on removal). */
async function setFinalizer(deps: ActDeps, run: CachedRun, present: boolean): Promise<string | undefined> {
  const others = (run.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  try {
    const updated = await deps.client.mergePatch<AgentRun>(AGENTRUN_TYPE, nameOf(run),
      { metadata: { finalizers: present ? [...others, FINALIZER] : others } }, { resourceVersion: run.metadata.resourceVersion });
    deps.ownWrites.wrote(keyOf(run.metadata.namespace, run.metadata.name), [run.metadata.resourceVersion], updated.metadata?.resourceVersion);
    return updated.metadata?.resourceVersion;
  } catch (err) {
    if (classifyError(err).kind === 'NotFound' && !present) return undefined;
    throw err;
  }
}

/**
 * At most one pod per run, ever: the run is re-read from the API server (not the cache) to be sure no pod was
 * recorded yet (noPodRecorded), and the pod's name is fixed by the run's UID, so a second create answers 409 and
 * is adopted.
 */
async function noPodRecorded(deps: ActDeps, run: AgentRun): Promise<boolean> {
  const fresh = await deps.client.get<AgentRun>(AGENTRUN_TYPE, nameOf(run));
  return fresh.metadata.uid === run.metadata.uid && !fresh.status?.podName;
}

async function createPodOnce(deps: ActDeps, run: AgentRun, pod: V1Pod): Promise<void> {
  const ns = run.metadata.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const key = keyOf(ns, run.metadata.name ?? '');
  // Expected before it is sent: the pod's watch event may arrive before the answer does.
  deps.ownWrites.expectPod(key, name);
  try {
    await deps.client.create(pod as ObjectBody, { discard: true });
  } catch (err) {
    deps.ownWrites.sawPod(key, name); // no pod of ours is coming (or it came long ago: adopted below)
    if (!isAlreadyExists(err)) throw err;
    const existing = await deps.client.get<V1Pod>(POD, { namespace: ns, name });
    if (existing.metadata?.labels?.[LABEL_RUN_UID] !== run.metadata.uid) {
      throw new Error(`pod ${ns}/${name} exists but does not belong to AgentRun ${ns}/${run.metadata.name}`, { cause: err });
    }
  }
}

/** The executors' switch-off gate: the pod annotation the downward API file mirrors. */
async function setGate(deps: ActDeps, namespace: string, pod: string, value: string): Promise<void> {
  await deps.client.mergePatch(POD, { namespace, name: pod }, { metadata: { annotations: { [ANNOTATION_DISABLED_SKILLS]: value } } }, { discard: true });
}

/** The resourceVersion turns a stale read into a 409 and a retry with fresh state. */
async function writeStatus(deps: ActDeps, run: CachedRun, resourceVersion: string | undefined, status: AgentRunStatus): Promise<void> {
  const updated = await deps.client.mergePatchStatus<AgentRun>(AGENTRUN_TYPE, nameOf(run), { status }, resourceVersion ? { resourceVersion } : {});
  deps.ownWrites.wrote(keyOf(run.metadata.namespace, run.metadata.name), [run.metadata.resourceVersion, resourceVersion], updated.metadata?.resourceVersion);
}

function record(deps: ActDeps, run: CachedRun, events: readonly PlannedEvent[]): void {
  for (const e of events) deps.events.record(run, e.type, e.reason, e.message);
}

/**
 * A write the API server refuses for a reason only a person can fix is said on the run (decide's notReady), then
 * thrown, so the controller retries with backoff as for any failure (the quota may free up).
 */
async function refusalReported<T>(deps: ActDeps, run: CachedRun, reason: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const info = classifyError(err);
    if (info.kind === 'Forbidden' || info.kind === 'Invalid') {
      const refused = notReady(run, reason, `the API server refused ${what}: ${info.message}`, deps.now());
      if (refused) {
        // Only the conditions, without a precondition: what the server refused is said even if the run moved on.
        await writeStatus(deps, run, undefined, { conditions: refused.status.conditions, observedGeneration: refused.status.observedGeneration });
        record(deps, run, refused.events);
      }
    }
    throw err;
  }
}
