import { describe, expect, it } from 'vitest';
import type { InformerEvent, KubeObject } from '../runtime/index.ts';
import { podEventPriority, REVOKE_PRIORITY, runEventPriority } from './priority.ts';
import { podForCache, runForCache, type CachedRun, type PodView } from './views.ts';

// As the informers hand them over: parsed at the cache boundary (views.ts).
const run = (o: { phase?: string; revoked?: boolean; deleting?: boolean; skills?: Array<[string, boolean]> } = {}): CachedRun => runForCache({
  apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun',
  metadata: { name: 'r', namespace: 'ns', ...(o.deleting ? { deletionTimestamp: '2026-12-06T00:00:00Z' } : {}) },
  spec: { task: 't', skills: (o.skills ?? [['a', true]]).map(([name, enabled]) => ({ name, enabled })) },
  status: {
    ...(o.phase ? { phase: o.phase } : {}),
    conditions: o.revoked ? [{ type: 'GrantsRevoked', status: 'True', reason: 'RunFinished', message: '', lastTransitionTime: '2026-12-06T00:00:00Z' }] : [],
  },
} as KubeObject);

const pod = (agent: Record<string, unknown> | undefined, phase = 'Running'): PodView => podForCache({
  metadata: { name: 'p', namespace: 'ns' },
  status: { phase, containerStatuses: agent ? [{ name: 'agent', ready: true, restartCount: 0, image: 'x', imageID: '', state: agent }] : [] },
} as KubeObject);

describe('runEventPriority', () => {
  const cases: Array<[string, InformerEvent<CachedRun>, number]> = [
    ['a new run', { type: 'added', object: run() }, 0],
    ['a running run on resync', { type: 'resync', object: run({ phase: 'Running' }) }, 0],
    ['a run being deleted', { type: 'updated', object: run({ deleting: true }), old: run() }, REVOKE_PRIORITY],
    ['a deleted run', { type: 'deleted', object: run({ phase: 'Running' }) }, REVOKE_PRIORITY],
    ['an ended run whose grants are not yet revoked', { type: 'updated', object: run({ phase: 'Failed' }), old: run({ phase: 'Running' }) }, REVOKE_PRIORITY],
    ['an ended run with its grants revoked', { type: 'resync', object: run({ phase: 'Succeeded', revoked: true }) }, 0],
    ['a skill switched off', { type: 'updated', object: run({ phase: 'Running', skills: [['a', false], ['b', true]] }), old: run({ phase: 'Running', skills: [['a', true], ['b', true]] }) }, REVOKE_PRIORITY],
    ['a skill removed from the list', { type: 'updated', object: run({ phase: 'Running', skills: [['b', true]] }), old: run({ phase: 'Running', skills: [['a', true], ['b', true]] }) }, REVOKE_PRIORITY],
    ['a skill switched on', { type: 'updated', object: run({ phase: 'Running', skills: [['a', true]] }), old: run({ phase: 'Running', skills: [['a', false]] }) }, 0],
    ['a status update of a running run', { type: 'updated', object: run({ phase: 'Running' }), old: run({ phase: 'Pending' }) }, 0],
  ];
  it.each(cases)('%s', (_name, event, want) => expect(runEventPriority(event)).toBe(want));
});

describe('podEventPriority', () => {
  const cases: Array<[string, InformerEvent<PodView>, number]> = [
    ['a pod without statuses yet', { type: 'added', object: pod(undefined, 'Pending') }, 0],
    ['the agent running', { type: 'updated', object: pod({ running: {} }) }, 0],
    ['the agent ended, sidecars still running', { type: 'updated', object: pod({ terminated: { exitCode: 0 } }) }, REVOKE_PRIORITY],
    ['the agent failed', { type: 'updated', object: pod({ terminated: { exitCode: 2 } }) }, REVOKE_PRIORITY],
    ['the pod failed (deadline)', { type: 'updated', object: pod(undefined, 'Failed') }, REVOKE_PRIORITY],
    ['the pod deleted', { type: 'deleted', object: pod({ running: {} }) }, REVOKE_PRIORITY],
  ];
  it.each(cases)('%s', (_name, event, want) => expect(podEventPriority(event)).toBe(want));
});

it('the test runs are valid AgentRuns (else every case would read an invalid run)', () => {
  expect(run({ phase: 'Running' }).invalid).toBeUndefined();
});
