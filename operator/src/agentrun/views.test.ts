import { describe, expect, it } from 'vitest';
import { diffReplace, ObjectCache, type KubeObject } from '../runtime/index.ts';
import { packForCache } from '../skillpack/cached.ts';
import { podForCache, runForCache } from './views.ts';

const pod = (resourceVersion: string, phase: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', resourceVersion, managedFields: [{}], annotations: { 'skillpod.io/grants': '{}', other: 'x' } },
  spec: { containers: [{ name: 'agent' }] }, status: { phase },
} as KubeObject);

describe('cache views', () => {
  it('keep the resourceVersion of every kind, so that a relist sees what changed while the watch was down', () => {
    const cache = new ObjectCache<ReturnType<typeof podForCache>>();
    cache.set('ns/p', podForCache(pod('1', 'Running')));
    const { events } = diffReplace(cache, new Map([['ns/p', podForCache(pod('2', 'Succeeded'))]]));
    expect(events.map((e) => e.type)).toEqual(['updated']);
    expect(runForCache({ apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name: 'r', resourceVersion: '7' } }).metadata.resourceVersion).toBe('7');
    expect(packForCache({ apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'k', resourceVersion: '9' } }).metadata.resourceVersion).toBe('9');
  });

  it('keep of a pod only what is read: no spec, no managedFields, the grant snapshot parsed', () => {
    const view = podForCache(pod('1', 'Running'));
    expect(view).not.toHaveProperty('spec');
    expect(view.metadata).not.toHaveProperty('managedFields');
    expect(view.metadata).not.toHaveProperty('annotations');
    expect(view.snapshot.ok).toBe(false); // '{}' is not a snapshot: it grants nothing
    expect(view.status.phase).toBe('Running');
  });
});
