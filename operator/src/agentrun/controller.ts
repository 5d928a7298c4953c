// The AgentRun controller: its informers, the events that wake a run, and one reconcile that is
// observe → decide → act. Level-triggered and idempotent: running it twice, or after a crash at any line, converges
// on the same state. As kubebuilder's SetupWithManager, the controller declares its own watches; operator.ts only
// calls setup functions.
import { AGENTRUN, API_VERSION, FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_RUN, MANAGED_BY } from '../api/index.ts';
import type { APIServerEndpoint } from '../builders/index.ts';
import type { Settings } from '../config/settings.ts';
import type { EventRecorder } from '../events.ts';
import type { GrantPolicy } from '../policy/grant-policy.ts';
import { keyOf, ResourceClient, type Controller, type Informer, type KubeObject, type Logger, type Manager, type Reconciler, type Store } from '../runtime/index.ts';
import type { CachedPack } from '../skillpack/cached.ts';
import { act, AGENTRUN_TYPE } from './act.ts';
import { decide } from './decide/index.ts';
import { Applier } from './kube-objects.ts';
import { observe } from './observe.ts';
import { OwnWrites } from './own-writes.ts';
import { podEventPriority, runEventPriority } from './priority.ts';
import { orphanSweep } from './sweep.ts';
import { podForCache, runForCache, type CachedRun, type PodView } from './views.ts';

/** The cache index of runs by the packs they name. */
export const RUNS_BY_PACK = 'pack';

export interface AgentRunSetup {
  settings: Settings;
  packs: Informer<CachedPack>;
  events: EventRecorder;
  grantPolicy: () => GrantPolicy;
  /** Wakes every run (the grant policy changed). */
  policyChanged?: Informer<KubeObject> | undefined;
  logger: Logger;
  now?: () => Date;
}

export interface AgentRunController {
  controller: Controller;
  runs: Array<Informer<CachedRun>>;
  pods: Array<Informer<PodView>>;
  /** The run from whichever namespace's cache holds it. */
  runStore: Pick<Store<CachedRun>, 'get'>;
  applier: Applier;
}

export function setupAgentRunController(manager: Manager, setup: AgentRunSetup): AgentRunController {
  const { settings } = setup;
  const resyncPeriodMs = settings.resyncSeconds * 1000;
  const namespaces = settings.watchNamespaces.length > 0 ? settings.watchNamespaces : [undefined];
  const runs = namespaces.map((namespace) => manager.informer<CachedRun>({
    name: `agentruns${namespace ? `/${namespace}` : ''}`,
    resource: { apiVersion: API_VERSION, plural: AGENTRUN.plural, ...(namespace ? { namespace } : {}) },
    resyncPeriodMs,
    transform: runForCache,
    indexers: { [RUNS_BY_PACK]: (r) => (r.run?.spec.skills ?? []).map((s) => s.name) },
  }));
  const pods = namespaces.map((namespace) => manager.informer<PodView>({
    name: `pods${namespace ? `/${namespace}` : ''}`,
    resource: { apiVersion: 'v1', plural: 'pods', ...(namespace ? { namespace } : {}), labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` },
    resyncPeriodMs: 0,
    transform: podForCache,
  }));
  // The API server's addresses, for the egress of runs whose skills hold RBAC: the one EndpointSlice the API server
  // keeps for itself (`default/kubernetes`), by name, so the operator's RBAC names it (operator-rbac.yaml).
  const apiEndpoints = manager.informer<KubeObject>({
    name: 'endpointslices/kubernetes',
    resource: { apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespace: 'default', fieldSelector: 'metadata.name=kubernetes' },
    resyncPeriodMs: 0,
  });
  const firstOf = <T extends KubeObject>(informers: Array<Informer<T>>) => ({
    get: (ns: string | undefined, name: string) => informers.map((i) => i.store.get(ns, name)).find((o) => o !== undefined),
  });
  const runStore = firstOf(runs);
  const client = new ResourceClient(manager.http, { fieldManager: FIELD_MANAGER, types: [AGENTRUN_TYPE] });
  const applier = new Applier(client);
  const ownWrites = new OwnWrites();
  const controller = manager.controller({
    name: 'agentrun',
    concurrency: settings.concurrency,
    reconcile: agentRunReconciler({
      observe: {
        runs: runStore, packs: setup.packs.store, pods: firstOf(pods), client, grantPolicy: setup.grantPolicy,
        apiServer: () => apiServerEndpoints(apiEndpoints.store.list()), settings,
      },
      act: { client, applier, events: setup.events, ownWrites, now: setup.now ?? (() => new Date()) },
    }),
  });
  // Revocations go ahead of creations in the queue (priority.ts).
  for (const informer of runs) controller.watch(informer, undefined, runEventPriority);
  const runOfPod = (pod: PodView) => {
    const run = pod.metadata.labels?.[LABEL_RUN];
    return run ? keyOf(pod.metadata.namespace, run) : undefined;
  };
  for (const informer of pods) {
    // Before the run is woken: the pod this controller created has reached the cache (own-writes.ts).
    informer.addHandler(({ object }) => {
      const run = runOfPod(object);
      if (run) ownWrites.sawPod(run, object.metadata.name);
    });
    controller.watch(informer, ({ object }) => runOfPod(object), podEventPriority);
  }
  // A pack that appears, becomes Ready or changes concerns the runs that name it (the index, not a scan).
  controller.watch(setup.packs, ({ object }) => runs.flatMap((i) => i.store.byIndex(RUNS_BY_PACK, object.metadata.name).map(keyOfRun)));
  if (setup.policyChanged) controller.watch(setup.policyChanged, () => runs.flatMap((i) => i.store.keys()));
  // Cluster-scoped grants have no owner reference: the sweep deletes those whose run vanished without its finalizer.
  manager.add(orphanSweep({
    client, applier, cachedRun: (ns, name) => runStore.get(ns, name), synced: () => manager.synced,
    log: setup.logger.child({ component: 'orphan-sweep' }), intervalMs: resyncPeriodMs,
  }));
  return { controller, runs, pods, runStore, applier };
}

const keyOfRun = (r: CachedRun) => keyOf(r.metadata.namespace, r.metadata.name);

const CACHE_BEHIND_RETRY_MS = 5_000;

interface ReconcilerDeps {
  observe: Parameters<typeof observe>[0];
  act: Parameters<typeof act>[0];
}

export function agentRunReconciler(deps: ReconcilerDeps): Reconciler {
  return async ({ namespace, name, log }) => {
    const key = keyOf(namespace, name);
    const cached = deps.observe.runs.get(namespace, name);
    if (!cached) return undefined;
    // Our last write has not reached the caches yet: its watch event wakes the run again (own-writes.ts). The delayed
    // look is only a safety net.
    if (deps.act.ownWrites.isBehind(key, cached.metadata.resourceVersion)) return { requeueAfterMs: CACHE_BEHIND_RETRY_MS };
    const observed = await observe(deps.observe, namespace, name);
    if (!observed) return undefined;
    return act(deps.act, observed.run, decide(observed, deps.act.now()), log);
  };
}

interface EndpointSlice extends KubeObject {
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ port?: number; name?: string }>;
}

function apiServerEndpoints(slices: KubeObject[]): APIServerEndpoint[] {
  return (slices as EndpointSlice[]).flatMap((slice) => (slice.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => (e.addresses ?? []).flatMap((ip) => (slice.ports ?? []).map((p) => ({ ip, port: p.port ?? 443 })))));
}
