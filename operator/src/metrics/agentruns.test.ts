import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { podForCache, runForCache, type CachedRun, type PodView } from '../agentrun/views.ts';
import type { CachedPack } from '../skillpack/cached.ts';
import type { InformerEvent, KubeObject } from '../runtime/index.ts';
import { AgentRunMetrics } from './agentruns.ts';

function fakeInformer<T extends KubeObject>(objects: T[] = []) {
  const handlers: Array<(e: InformerEvent<T>) => void> = [];
  return {
    store: { list: () => objects, get: (ns: string | undefined, name: string) => objects.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name) },
    addHandler: (h: (e: InformerEvent<T>) => void) => { handlers.push(h); return () => undefined; },
    emit: (e: InformerEvent<T>) => { for (const h of handlers) h(e); },
  };
}
/** A run as the cache holds it (only its status and metadata matter here). */
const run = (status: object, extra: object = {}): CachedRun => runForCache({
  apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun',
  metadata: { name: 'r', namespace: 'team-a', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' }, status, ...extra,
} as KubeObject);
const revoked = { type: 'GrantsRevoked', status: 'True', reason: 'RunFinished' };

async function sample(registry: Registry, name: string, series = name): Promise<Array<{ labels: object; value: number }>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).filter((v) => ((v as { metricName?: string }).metricName ?? name) === series).map((v) => ({ labels: v.labels, value: v.value }));
}

describe('AgentRunMetrics', () => {
  it('reports nothing while this replica does not lead', async () => {
    const registry = new Registry();
    const runs = fakeInformer([run({ phase: 'Running', podName: 'p' })]);
    new AgentRunMetrics({ registry, runs: [runs], pods: [fakeInformer<PodView>()], packs: fakeInformer<CachedPack>(), leading: () => false });
    runs.emit({ type: 'updated', old: run({ phase: 'Running' }), object: run({ phase: 'Failed', completionTime: '2026-01-01T00:01:00Z' }) });
    expect(await sample(registry, 'skillpod_agentruns')).toEqual([]);
    expect((await sample(registry, 'skillpod_agentrun_duration_seconds')).filter((s) => s.value > 0)).toEqual([]);
  });

  it('after a restart, measures agent end → grants gone from the agent\'s finishedAt', async () => {
    const registry = new Registry();
    const now = Date.parse('2026-01-01T00:01:03Z');
    const pod = podForCache({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team-a', labels: { 'skillpod.io/run-uid': 'u1' } },
      status: { containerStatuses: [{ name: 'agent', state: { terminated: { finishedAt: '2026-01-01T00:01:00Z' } } }] } } as KubeObject);
    const runs = fakeInformer<CachedRun>();
    new AgentRunMetrics({ registry, runs: [runs], pods: [fakeInformer([pod])], packs: fakeInformer<CachedPack>(), now: () => now });
    const ended = run({ phase: 'Succeeded', podName: 'p', completionTime: '2026-01-01T00:01:02Z', conditions: [] });
    runs.emit({ type: 'updated', old: ended, object: run({ ...ended.status, conditions: [revoked] }) });
    expect(await sample(registry, 'skillpod_agentrun_grants_revocation_seconds', 'skillpod_agentrun_grants_revocation_seconds_sum')).toEqual([{ labels: {}, value: 3 }]);
  });

  it('adds a namespace label only when asked', async () => {
    const registry = new Registry();
    const runs = fakeInformer([run({ phase: 'Pending' })]);
    new AgentRunMetrics({ registry, runs: [runs], pods: [fakeInformer<PodView>()], packs: fakeInformer<CachedPack>(), namespaceLabel: true });
    expect(await sample(registry, 'skillpod_agentruns')).toEqual([{ labels: { phase: 'Pending', namespace: 'team-a' }, value: 1 }]);
    runs.emit({ type: 'updated', old: run({ phase: 'Running', skills: [{ name: 's', enabled: true }] }), object: run({ phase: 'Running', skills: [{ name: 's', enabled: false }] }) });
    expect(await sample(registry, 'skillpod_agentrun_skill_switches_total')).toEqual([{ labels: { direction: 'off', namespace: 'team-a' }, value: 1 }]);
  });
});
