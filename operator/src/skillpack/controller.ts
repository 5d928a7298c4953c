// SkillPack controller: sets Ready (with a reason and observedGeneration) from the pack's validity and the grant
// policy, and records an Event when readiness changes. AgentRuns read pack readiness from the same pure
// function, so they never wait for this status to be written.
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, FIELD_MANAGER, SKILLPACK, type SkillPack } from '../api/index.ts';
import type { EventRecorder } from '../events.ts';
import type { GrantPolicy } from '../policy/grant-policy.ts';
import type { Informer, KubeHttp, KubeObject, Reconciler } from '../runtime/index.ts';
import { findCondition, setCondition } from '../status/conditions.ts';
import { skillPackReadiness } from './readiness.ts';

export interface SkillPackControllerDeps {
  packs: Informer<KubeObject>;
  http: Pick<KubeHttp, 'request'>;
  events: EventRecorder;
  grantPolicy: () => GrantPolicy;
  now?: () => Date;
}

export const skillPackPath = (name: string) => `/apis/${API_VERSION}/${SKILLPACK.plural}/${name}`;

export function skillPackReconciler(deps: SkillPackControllerDeps): Reconciler {
  const now = deps.now ?? (() => new Date());
  return async ({ name, log }) => {
    const object = deps.packs.store.get(undefined, name) as SkillPack | undefined;
    if (!object) return;
    const { condition, freeArguments } = skillPackReadiness(object, deps.grantPolicy(), object.metadata.generation);
    const current = object.status ?? {};
    let conditions = setCondition(current.conditions, condition, now());
    if (freeArguments) conditions = setCondition(conditions, freeArguments, now());
    const next = { ...current, observedGeneration: object.metadata.generation, conditions };
    if (isDeepStrictEqual(next, current)) return;

    // The resourceVersion makes this an optimistic write: a stale cache gets 409 and a retry with fresh state.
    await deps.http.request({
      method: 'PATCH',
      path: `${skillPackPath(name)}/status`,
      query: { fieldManager: FIELD_MANAGER },
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: object.metadata.resourceVersion }, status: next },
    });
    const previous = findCondition(current.conditions, 'Ready');
    if (previous?.status !== condition.status || previous.reason !== condition.reason) {
      log.info({ ready: condition.status, reason: condition.reason }, 'SkillPack readiness changed');
      deps.events.record(object, condition.status === 'True' ? 'Normal' : 'Warning', condition.reason, condition.message);
    }
  };
}
