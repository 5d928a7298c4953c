// SkillPack controller: sets Ready (with a reason and observedGeneration) from the pack's validity and the grant
// policy, and records an Event when readiness changes. AgentRuns read pack readiness from the same pure
// function, so they never wait for this status to be written.
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, FIELD_MANAGER, PackCondition, SKILLPACK } from '../api/index.ts';
import type { EventRecorder } from '../events.ts';
import type { GrantPolicy } from '../policy/grant-policy.ts';
import { customResourceType, keyOf, ResourceClient, type Informer, type KubeHttp, type KubeObject, type Manager, type Reconciler } from '../runtime/index.ts';
import type { Settings } from '../config/settings.ts';
import { findCondition, setCondition } from '../status/conditions.ts';
import { packForCache, type CachedPack } from './cached.ts';
import { readinessOf } from './readiness.ts';

export interface SkillPackControllerDeps {
  packs: Informer<CachedPack>;
  http: Pick<KubeHttp, 'request'>;
  events: EventRecorder;
  grantPolicy: () => GrantPolicy;
  now?: () => Date;
}

const SKILLPACK_TYPE = customResourceType(API_VERSION, SKILLPACK);

export function skillPackReconciler(deps: SkillPackControllerDeps): Reconciler {
  const now = deps.now ?? (() => new Date());
  const client = new ResourceClient(deps.http, { fieldManager: FIELD_MANAGER });
  return async ({ name, log }) => {
    const object = deps.packs.store.get(undefined, name);
    if (!object) return;
    const { condition, freeArguments } = readinessOf(object, deps.grantPolicy());
    const current = object.status ?? {};
    let conditions = setCondition(current.conditions, condition, now());
    if (freeArguments) conditions = setCondition(conditions, freeArguments, now());
    const next = { ...current, observedGeneration: object.metadata.generation, conditions };
    if (isDeepStrictEqual(next, current)) return;

    // The resourceVersion makes this an optimistic write: a stale cache gets 409 and a retry with fresh state.
    await client.mergePatchStatus(SKILLPACK_TYPE, { name }, { status: next }, { resourceVersion: object.metadata.resourceVersion });
    const previous = findCondition(current.conditions, PackCondition.Ready);
    if (previous?.status !== condition.status || previous.reason !== condition.reason) {
      log.info({ ready: condition.status, reason: condition.reason }, 'SkillPack readiness changed');
      deps.events.record(object, condition.status === 'True' ? 'Normal' : 'Warning', condition.reason, condition.message);
    }
  };
}

export interface SkillPackSetup {
  settings: Pick<Settings, 'resyncSeconds' | 'concurrency'>;
  events: EventRecorder;
  grantPolicy: () => GrantPolicy;
  /** Wakes every pack (the grant policy changed). */
  policyChanged?: Informer<KubeObject> | undefined;
}

/** The SkillPack informer (shared with the AgentRun controller, which reads packs from it) and this controller. */
export function setupSkillPackController(manager: Manager, setup: SkillPackSetup): Informer<CachedPack> {
  const packs = manager.informer<CachedPack>({
    name: 'skillpacks',
    resource: { apiVersion: API_VERSION, plural: SKILLPACK.plural },
    resyncPeriodMs: setup.settings.resyncSeconds * 1000,
    transform: packForCache,
  });
  const controller = manager
    .controller({ name: 'skillpack', concurrency: Math.min(4, setup.settings.concurrency), reconcile: skillPackReconciler({ packs, http: manager.http, events: setup.events, grantPolicy: setup.grantPolicy }) })
    .watch(packs);
  if (setup.policyChanged) controller.watch(setup.policyChanged, () => packs.store.keys().map((name) => keyOf(undefined, name)));
  return packs;
}
