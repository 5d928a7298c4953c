import { describe, expect, it } from 'vitest';
import { collectionPath, objectKey, objectPath, splitKey } from './resource.ts';

describe('resource paths and keys', () => {
  it.each([
    [{ apiVersion: 'v1', plural: 'pods' }, '/api/v1/pods'],
    [{ apiVersion: 'v1', plural: 'configmaps', namespace: 'ns1' }, '/api/v1/namespaces/ns1/configmaps'],
    [{ apiVersion: 'skillpod.io/v1alpha1', plural: 'skillpacks' }, '/apis/skillpod.io/v1alpha1/skillpacks'],
    [{ apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespace: 'kube-system' },
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases'],
  ])('collectionPath(%j) = %s', (ref, path) => {
    expect(collectionPath(ref)).toBe(path);
  });

  it('builds object paths', () => {
    expect(objectPath({ apiVersion: 'v1', plural: 'pods', namespace: 'a' }, 'p-1')).toBe('/api/v1/namespaces/a/pods/p-1');
  });

  it('keys namespaced and cluster-scoped objects', () => {
    expect(objectKey({ metadata: { namespace: 'ns', name: 'a' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'pack' } })).toBe('pack');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('pack')).toEqual({ name: 'pack' });
  });
});
