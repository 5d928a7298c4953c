// Proves the test control plane is a real one: schema validation, RBAC, Pod Security admission, the garbage
// collector, ValidatingAdmissionPolicy and the TokenRequest API all behave as in a production cluster.
import {
  AdmissionregistrationV1Api, ApiException, ApiextensionsV1Api, AuthenticationV1Api, CoreV1Api, CustomObjectsApi,
  RbacAuthorizationV1Api, VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { statusCode } from '../harness/kube.ts';

const kc = testCluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
let ns: string;

beforeAll(async () => {
  ns = await testCluster.createNamespace('cp');
});
afterAll(async () => {
  await testCluster.deleteNamespace(ns);
});

describe('the test control plane', () => {
  it('reports the Kubernetes version it was built from', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.(3[5-9])\.\d+$/);
    expect(version.gitTreeState).toBe('clean');
  });

  it('serves a CRD and validates objects against its schema', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.test.skillpod.io' },
        spec: {
          group: 'test.skillpod.io',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [{
            name: 'v1', served: true, storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: {
              type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1, maximum: 10 } },
            } } } },
          }],
        },
      },
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const create = (size: unknown) => custom.createNamespacedCustomObject({
      group: 'test.skillpod.io', version: 'v1', namespace: ns, plural: 'widgets',
      body: { apiVersion: 'test.skillpod.io/v1', kind: 'Widget', metadata: { generateName: 'w-' }, spec: { size } },
    });
    // The resource is served once the CRD is Established; until then creates answer 404.
    await eventually(async () => expect(await statusCode(create(3))).toBe(200));
    const rejected: unknown = await create(42).catch((err: unknown) => err);
    expect(rejected).toBeInstanceOf(ApiException);
    expect((rejected as ApiException<string>).code).toBe(422);
    expect((rejected as ApiException<string>).body).toContain('should be less than or equal to 10');
    await ext.deleteCustomResourceDefinition({ name: 'widgets.test.skillpod.io' });
  });

  it('refuses an identity what RBAC denies and allows what a Role grants', async () => {
    const alice = (await testCluster.kubeConfigForUser('alice', ['testers'])).makeApiClient(CoreV1Api);
    expect(await statusCode(alice.listNamespacedConfigMap({ namespace: ns }))).toBe(403);

    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: {
      metadata: { name: 'read-configmaps' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    } });
    await rbac.createNamespacedRoleBinding({ namespace: ns, body: {
      metadata: { name: 'alice-reads' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }],
    } });
    await eventually(async () => expect(await statusCode(alice.listNamespacedConfigMap({ namespace: ns }))).toBe(200));
    // The grant is exactly what the Role says: no writes, and nothing in another namespace.
    expect(await statusCode(alice.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } }))).toBe(403);
    expect(await statusCode(alice.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);

    // The same through impersonation by the admin.
    const impersonating = testCluster.kubeConfig();
    const user = impersonating.getCurrentUser();
    impersonating.users = impersonating.users.map((u) => (u.name === user?.name ? { ...u, impersonateUser: 'bob' } : u));
    expect(await statusCode(impersonating.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns }))).toBe(403);
  });

  it('rejects a pod that breaks the restricted Pod Security level where it is enforced', async () => {
    const restricted = await testCluster.createNamespace('psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    try {
      const pod = (securityContext: object) => ({
        metadata: { generateName: 'p-' },
        spec: { containers: [{ name: 'c', image: 'busybox', securityContext }] },
      });
      const bad = await core.createNamespacedPod({ namespace: restricted, body: pod({ allowPrivilegeEscalation: true }) }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ApiException);
      expect((bad as ApiException<string>).code).toBe(403);
      const status = JSON.parse((bad as ApiException<string>).body) as { message: string };
      expect(status.message).toContain('violates PodSecurity "restricted:latest"');

      const good = await core.createNamespacedPod({ namespace: restricted, body: {
        ...pod({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 1000,
          seccompProfile: { type: 'RuntimeDefault' } }),
      } });
      expect(good.metadata?.name).toBeTruthy();
    } finally {
      await testCluster.deleteNamespace(restricted);
    }
  });

  it('garbage-collects a dependent when its owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dependent', ownerReferences: [{
      apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!,
    }] } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await eventually(async () => {
      expect(await statusCode(core.readNamespacedConfigMap({ namespace: ns, name: 'dependent' }))).toBe(404);
    }, 60_000);
  });

  it('enforces a ValidatingAdmissionPolicy through its binding', async () => {
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const name = `no-forbidden-${ns}`;
    await admission.createValidatingAdmissionPolicy({ body: {
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
        validations: [{ expression: "!has(object.data) || !('forbidden' in object.data)", message: 'the key forbidden is not allowed' }],
      },
    } });
    await admission.createValidatingAdmissionPolicyBinding({ body: {
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } },
    } });
    try {
      await eventually(async () => {
        const err = await core.createNamespacedConfigMap({ namespace: ns, body: {
          metadata: { generateName: 'vap-' }, data: { forbidden: 'yes' } } }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ApiException);
        expect((err as ApiException<string>).body).toContain('the key forbidden is not allowed');
      });
      const allowed = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'vap-' }, data: { fine: 'yes' } } });
      expect(allowed.metadata?.name).toBeTruthy();
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name });
      await admission.deleteValidatingAdmissionPolicy({ name });
    }
  });

  it('issues ServiceAccount tokens that authenticate as the ServiceAccount', async () => {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'robot' } } });
    const request = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'robot', body: {
      spec: { audiences: [], expirationSeconds: 600 },
    } });
    const token = request.status?.token ?? '';
    expect(token).not.toBe('');
    const asRobot = testCluster.kubeConfigForToken(token).makeApiClient(AuthenticationV1Api);
    const review = await asRobot.createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${ns}:robot`);
    expect(review.status?.userInfo?.groups).toContain('system:serviceaccounts');
  });
});
