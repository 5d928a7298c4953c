import { describe, expect, it } from 'vitest';
import { BUILTIN_TYPES, collectionPath, customResourceType, objectKey, objectPath, pathSegment, splitKey } from './resource.ts';

describe('resource paths and keys', () => {
  it.each([
    [{ apiVersion: 'v1', plural: 'pods' }, '/api/v1/pods'],
    [{ apiVersion: 'v1', plural: 'configmaps', namespace: 'ns1' }, '/api/v1/namespaces/ns1/configmaps'],
    [{ apiVersion: 'v1', plural: 'configmaps', namespace: '' }, '/api/v1/configmaps'],
    [{ apiVersion: 'skillpod.io/v1alpha1', plural: 'skillpacks' }, '/apis/skillpod.io/v1alpha1/skillpacks'],
    [{ apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespace: 'kube-system' },
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases'],
    [{ apiVersion: 'v1', plural: 'pods', namespace: 'a/../b' }, '/api/v1/namespaces/a%2F..%2Fb/pods'],
  ])('collectionPath(%j) = %s', (ref, path) => {
    expect(collectionPath(ref)).toBe(path);
  });

  it.each([
    ['p-1', undefined, '/api/v1/namespaces/a/pods/p-1'],
    ['p-1', 'status', '/api/v1/namespaces/a/pods/p-1/status'],
    // Whatever a name holds stays one path segment: nothing can reach another object, collection or query.
    ['a/b', undefined, '/api/v1/namespaces/a/pods/a%2Fb'],
    ['../secrets/x', undefined, '/api/v1/namespaces/a/pods/..%2Fsecrets%2Fx'],
    ['x?watch=true', undefined, '/api/v1/namespaces/a/pods/x%3Fwatch%3Dtrue'],
    ['x#frag', undefined, '/api/v1/namespaces/a/pods/x%23frag'],
    ['100%', undefined, '/api/v1/namespaces/a/pods/100%25'],
    ['with space', undefined, '/api/v1/namespaces/a/pods/with%20space'],
    ['system:masters', undefined, '/api/v1/namespaces/a/pods/system%3Amasters'],
    ['ünïcode', undefined, '/api/v1/namespaces/a/pods/%C3%BCn%C3%AFcode'],
    ['run.0a1b', undefined, '/api/v1/namespaces/a/pods/run.0a1b'],
  ])('objectPath name %j, subresource %j = %s', (name, subresource, path) => {
    expect(objectPath({ apiVersion: 'v1', plural: 'pods', namespace: 'a' }, name, subresource)).toBe(path);
    // The URL the request goes to keeps the path as built (no segment resolved away).
    expect(new URL(`https://h${path}`).pathname).toBe(path);
  });

  it.each(['', '.', '..'])('refuses the name %j, which no encoding keeps in its place', (name) => {
    expect(() => objectPath({ apiVersion: 'v1', plural: 'pods', namespace: 'a' }, name)).toThrow(/invalid name/);
    expect(() => pathSegment(name, 'namespace')).toThrow(/invalid namespace/);
  });

  it('refuses an apiVersion that is not version or group/version', () => {
    expect(() => collectionPath({ apiVersion: 'a/b/c', plural: 'x' })).toThrow(/invalid apiVersion/);
    expect(() => collectionPath({ apiVersion: '', plural: 'x' })).toThrow(/invalid apiVersion/);
  });

  it('has one built-in type per kind, and makes custom ones from CRD constants', () => {
    const kinds = BUILTIN_TYPES.map((t) => `${t.apiVersion}/${t.kind}`);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(customResourceType('skillpod.io/v1alpha1', { kind: 'AgentRun', plural: 'agentruns', scope: 'Namespaced' }))
      .toEqual({ apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', plural: 'agentruns', namespaced: true });
  });

  it('keys namespaced and cluster-scoped objects', () => {
    expect(objectKey({ metadata: { namespace: 'ns', name: 'a' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'pack' } })).toBe('pack');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('pack')).toEqual({ name: 'pack' });
  });
});
