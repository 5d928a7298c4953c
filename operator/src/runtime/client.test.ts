import { describe, expect, it } from 'vitest';
import { ResourceClient } from './client.ts';
import { ApiError } from './errors.ts';
import type { KubeRequest } from './kube-http.ts';

const AGENTRUN = { apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', plural: 'agentruns', namespaced: true };
const SKILLPACK = { apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', plural: 'skillpacks', namespaced: false };

/** A client on a fake KubeHttp that records each request and answers `answer` (or throws it if it is an Error). */
function fake(answer: unknown = { ok: true }, options: ConstructorParameters<typeof ResourceClient>[1] = {}) {
  const sent: KubeRequest[] = [];
  const client = new ResourceClient({
    request: <T>(req: KubeRequest): Promise<T> => {
      sent.push(req);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as T);
    },
  }, { fieldManager: 'skillpod-operator', types: [AGENTRUN, SKILLPACK], ...options });
  return { client, sent };
}

const notFound = () => new ApiError(404, 'HTTP 404', JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' }));
const signal = new AbortController().signal;
const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'run-1' }, data: { a: 'b' } };

describe('ResourceClient request shapes', () => {
  const cases: Array<[string, (c: ResourceClient) => Promise<unknown>, KubeRequest]> = [
    ['get a pod', (c) => c.get({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' }),
      { path: '/api/v1/namespaces/ns/pods/p' }],
    ['get with signal and timeout', (c) => c.get({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' }, { signal, timeoutMs: 5 }),
      { path: '/api/v1/namespaces/ns/pods/p', signal, timeoutMs: 5 }],
    ['get a cluster-scoped custom resource by its type', (c) => c.get(SKILLPACK, { name: 'kubectl' }),
      { path: '/apis/skillpod.io/v1alpha1/skillpacks/kubectl' }],
    ['get a custom resource by apiVersion and kind', (c) => c.get({ apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun' }, { namespace: 'team a', name: 'r/1' }),
      { path: '/apis/skillpod.io/v1alpha1/namespaces/team%20a/agentruns/r%2F1' }],
    ['list in all namespaces with selectors', (c) => c.list({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
      { labelSelector: 'app.kubernetes.io/managed-by=skillpod', limit: 500 }),
    { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', query: { labelSelector: 'app.kubernetes.io/managed-by=skillpod', limit: 500 } }],
    ['list in one namespace', (c) => c.list({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, { namespace: 'default', fieldSelector: 'metadata.name=x', continue: 'tok' }),
      { path: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', query: { fieldSelector: 'metadata.name=x', continue: 'tok' } }],
    ['create in the object\'s namespace, with the field manager', (c) => c.create(cm),
      { method: 'POST', path: '/api/v1/namespaces/ns/configmaps', query: { fieldManager: 'skillpod-operator' }, body: cm }],
    ['create a cluster-scoped review, another field manager', (c) => c.create({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't' } }, { fieldManager: 'x' }),
      { method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', query: { fieldManager: 'x' },
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't' } } }],
    ['replace (PUT) a Lease', (c) => c.replace({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'kube-system', name: 'l', resourceVersion: '7' } }),
      { method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l', query: { fieldManager: 'skillpod-operator' },
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'kube-system', name: 'l', resourceVersion: '7' } } }],
    ['server-side apply, forced', (c) => c.apply(cm),
      { method: 'PATCH', path: '/api/v1/namespaces/ns/configmaps/run-1', contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'skillpod-operator', force: true }, body: cm }],
    ['server-side apply, not forced, of a cluster-scoped kind', (c) => c.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } }, { force: false }),
      { method: 'PATCH', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/r', contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'skillpod-operator', force: false }, body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } } }],
    ['merge patch of the object', (c) => c.mergePatch({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' }, { metadata: { annotations: { a: 'b' } } }),
      { method: 'PATCH', path: '/api/v1/namespaces/ns/pods/p', contentType: 'application/merge-patch+json', query: { fieldManager: 'skillpod-operator' },
        body: { metadata: { annotations: { a: 'b' } } } }],
    ['merge patch with a resourceVersion precondition (metadata kept)', (c) => c.mergePatch(AGENTRUN, { namespace: 'ns', name: 'r' },
      { metadata: { finalizers: ['f'] } }, { resourceVersion: '42' }),
    { method: 'PATCH', path: '/apis/skillpod.io/v1alpha1/namespaces/ns/agentruns/r', contentType: 'application/merge-patch+json',
      query: { fieldManager: 'skillpod-operator' }, body: { metadata: { finalizers: ['f'], resourceVersion: '42' } } }],
    ['merge patch of the status subresource with a precondition', (c) => c.mergePatchStatus(SKILLPACK, { name: 'kubectl' }, { status: { observedGeneration: 2 } }, { resourceVersion: '9' }),
      { method: 'PATCH', path: '/apis/skillpod.io/v1alpha1/skillpacks/kubectl/status', contentType: 'application/merge-patch+json',
        query: { fieldManager: 'skillpod-operator' }, body: { status: { observedGeneration: 2 }, metadata: { resourceVersion: '9' } } }],
    ['delete with propagation as a query, no body', (c) => c.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' }, { namespace: 'ns', name: 'b' }, { propagationPolicy: 'Background' }),
      { method: 'DELETE', path: '/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/b', query: { propagationPolicy: 'Background' }, discardBody: true }],
    ['delete with a grace period', (c) => c.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' }, { gracePeriodSeconds: 0 }),
      { method: 'DELETE', path: '/api/v1/namespaces/ns/pods/p', query: { gracePeriodSeconds: 0 }, discardBody: true }],
    ['server-side apply whose answer is dropped', (c) => c.apply(cm, { discard: true }),
      { method: 'PATCH', path: '/api/v1/namespaces/ns/configmaps/run-1', contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'skillpod-operator', force: true }, body: cm, discardBody: true }],
    ['create whose answer is dropped', (c) => c.create(cm, { discard: true }),
      { method: 'POST', path: '/api/v1/namespaces/ns/configmaps', query: { fieldManager: 'skillpod-operator' }, body: cm, discardBody: true }],
  ];

  it.each(cases)('%s', async (_name, call, expected) => {
    const { client, sent } = fake();
    await call(client);
    expect(sent).toEqual([expected]);
  });

  it('sends no field manager when the client has none and the call names none', async () => {
    const { client, sent } = fake({}, { fieldManager: undefined });
    await client.create(cm);
    await client.mergePatch({ apiVersion: 'v1', kind: 'Event' }, { namespace: 'ns', name: 'e' }, { count: 2 });
    expect(sent.map((r) => r.query)).toEqual([undefined, undefined]);
    await expect(client.apply(cm)).rejects.toThrow(/field manager/);
  });
});

describe('ResourceClient answers and refusals', () => {
  it('find and delete treat NotFound as an answer when asked to', async () => {
    const { client } = fake(notFound());
    await expect(client.find({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' })).resolves.toBeUndefined();
    await expect(client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' }, { notFoundOk: true })).resolves.toBe(false);
    await expect(client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' })).rejects.toMatchObject({ code: 404 });
    await expect(client.get({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: 'p' })).rejects.toBeInstanceOf(ApiError);
  });

  it('find passes other errors on; delete resolves true when the server took it', async () => {
    await expect(fake(new ApiError(403, 'HTTP 403', '{}')).client.find({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'n', name: 'p' }))
      .rejects.toMatchObject({ code: 403 });
    await expect(fake({}).client.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'n', name: 'p' }, { notFoundOk: true })).resolves.toBe(true);
  });

  it.each([
    ['an unknown kind', (c: ResourceClient) => c.get({ apiVersion: 'example.com/v1', kind: 'Widget' }, { name: 'w' }), /no resource type known for Widget/],
    ['a namespaced kind without a namespace', (c: ResourceClient) => c.get({ apiVersion: 'v1', kind: 'Pod' }, { name: 'p' }), /namespaced: a namespace is required/],
    ['a cluster-scoped kind with a namespace', (c: ResourceClient) => c.get(SKILLPACK, { namespace: 'ns', name: 'p' }), /cluster-scoped/],
    ['listing a cluster-scoped kind in a namespace', (c: ResourceClient) => c.list(SKILLPACK, { namespace: 'ns' }), /cluster-scoped/],
    ['an object without a kind', (c: ResourceClient) => c.create({ metadata: { name: 'x' } }), /no apiVersion or kind/],
    ['applying an object without a name', (c: ResourceClient) => c.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns' } }), /no metadata.name/],
    ['the name ..', (c: ResourceClient) => c.delete({ apiVersion: 'v1', kind: 'Pod' }, { namespace: 'ns', name: '..' }), /invalid name/],
  ])('refuses %s before sending anything', async (_name, call, message) => {
    const { client, sent } = fake();
    await expect((async () => call(client))()).rejects.toThrow(message);
    expect(sent).toEqual([]);
  });
});
