// Identities and small actions shared by the trust-*.test.ts files: real client-certificate users, tokens from the
// TokenRequest API, per-pack `use` grants as docs/security.md describes them, and edits of the installed policies
// that are always undone. Not a test file itself.
import {
  AdmissionregistrationV1Api, ApiException, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig,
} from '@kubernetes/client-node';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { clients } from '../harness/kube.ts';
import { repoRoot } from '../harness/operator.ts';
import { install } from '../../operator/src/install/apply.ts';

const admin = testCluster.kubeConfig();
export const core = admin.makeApiClient(CoreV1Api);
export const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
export const admission = admin.makeApiClient(AdmissionregistrationV1Api);
const custom = admin.makeApiClient(CustomObjectsApi);

export const GRANT_POLICY = { namespace: 'skillpod-system', name: 'skillpod-grant-policy' };
export const OPERATOR_USER = 'system:serviceaccount:skillpod-system:skillpod-operator';

/** The HTTP status and the server's message of a request: 200 when it went through. */
export async function outcome(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
    return { code: 200, message: '' };
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = err.body as unknown;
    let message = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch { /* not JSON */ }
    return { code: err.code, message };
  }
}

/** Ignores "not found" (and only that). */
export async function gone(promise: Promise<unknown>): Promise<void> {
  const { code, message } = await outcome(promise);
  if (code !== 200 && code !== 404) throw new Error(`expected success or 404, got ${code}: ${message}`);
}

const userConfigs = new Map<string, Promise<KubeConfig>>();
/** A real user, authenticated by a client certificate (CN=name), with no permission until a test grants one. */
export function user(name: string): Promise<KubeConfig> {
  let kc = userConfigs.get(name);
  if (!kc) {
    kc = testCluster.kubeConfigForUser(name);
    userConfigs.set(name, kc);
  }
  return kc;
}

/** A cluster admin that is not system:masters (admission policies apply to masters too; this is the usual admin). */
export async function clusterAdmin(name: string): Promise<KubeConfig> {
  await rbac.createClusterRoleBinding({ body: { metadata: { name: `trust-${name}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }] } }).catch(alreadyExists);
  return user(name);
}

function alreadyExists(err: unknown): void {
  if (!(err instanceof ApiException && err.code === 409)) throw err;
}

/** A fresh token of a ServiceAccount from the TokenRequest API, as a kubeconfig. */
export async function tokenConfig(namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<KubeConfig> {
  const request = await core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [], expirationSeconds } } });
  return testCluster.kubeConfigForToken(request.status?.token ?? '');
}

/** A RoleBinding of a ClusterRole to a user in one namespace. */
export async function bindInNamespace(namespace: string, clusterRole: string, userName: string, bindingName = `${clusterRole.replace(/:/g, '-')}-${userName}`): Promise<void> {
  await rbac.createNamespacedRoleBinding({ namespace, body: { metadata: { name: bindingName },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: userName }] } }).catch(alreadyExists);
}

/** The per-pack ClusterRole of docs/security.md: the verb `use` on one SkillPack, by name. */
export async function useRole(pack: string): Promise<string> {
  const name = `skillpod:use:${pack}`;
  await rbac.createClusterRole({ body: { metadata: { name },
    rules: [{ apiGroups: ['skillpod.io'], resources: ['skillpacks'], resourceNames: [pack], verbs: ['use'] }] } }).catch(alreadyExists);
  return name;
}

/** Whether a user may do something, as the API server's authorizer says (a SubjectAccessReview). */
export async function userCan(userName: string, verb: string, resource: { group?: string; resource: string; name?: string; namespace?: string }): Promise<boolean> {
  const { authz } = clients();
  const review = await authz.createSubjectAccessReview({ body: { spec: { user: userName, resourceAttributes: { verb, group: resource.group ?? '', resource: resource.resource,
    ...(resource.name ? { name: resource.name } : {}), ...(resource.namespace ? { namespace: resource.namespace } : {}) } } } });
  return review.status?.allowed ?? false;
}

/** Adds (or, with null, removes) keys of the grant policy ConfigMap; returns the undo. */
export async function patchGrantPolicy(changes: Record<string, string | null>): Promise<() => Promise<void>> {
  const before = (await core.readNamespacedConfigMap(GRANT_POLICY)).data ?? {};
  const ops = Object.entries(changes).flatMap(([key, value]) => {
    if (value === null) return key in before ? [{ op: 'remove', path: `/data/${key}` }] : [];
    return [{ op: key in before ? 'replace' : 'add', path: `/data/${key}`, value }];
  });
  if (ops.length > 0) await core.patchNamespacedConfigMap({ ...GRANT_POLICY, body: ops });
  return async () => {
    const now = (await core.readNamespacedConfigMap(GRANT_POLICY)).data ?? {};
    const undo = Object.keys(changes).flatMap((key) => {
      if (key in before) return [{ op: key in now ? 'replace' : 'add', path: `/data/${key}`, value: before[key] }];
      return key in now ? [{ op: 'remove', path: `/data/${key}` }] : [];
    });
    if (undo.length > 0) await core.patchNamespacedConfigMap({ ...GRANT_POLICY, body: undo });
  };
}

/** `make install` again: re-renders the operator's grantable role and the SkillPack admission policy from the ConfigMap. */
export async function reinstall(): Promise<void> {
  await install(testCluster.kubeConfig(), { root: repoRoot, skillPacks: false });
}

/**
 * Stops the SkillPack admission policy from refusing anything (its binding's validationActions: Audit) and returns
 * the undo. Both wait until the API server acts on the change: bindings reach its admission plugin through an
 * informer and a refresh loop of their own, so a request made right after the patch may still meet the old binding.
 */
export async function unenforceGrantPolicy(): Promise<() => Promise<void>> {
  const name = 'skillpod-skillpack-grant-policy';
  const actions = (await admission.readValidatingAdmissionPolicyBinding({ name })).spec?.validationActions ?? ['Deny'];
  await admission.patchValidatingAdmissionPolicyBinding({ name, body: [{ op: 'replace', path: '/spec/validationActions', value: ['Audit'] }] });
  await eventually(() => createPackOutsideAnyPolicy());
  return async () => {
    await admission.patchValidatingAdmissionPolicyBinding({ name, body: [{ op: 'replace', path: '/spec/validationActions', value: actions }] });
    if (actions.includes('Deny')) await refusedEventually(() => createPackOutsideAnyPolicy(), /grant policy/);
  };
}

/** A dry run (it stores nothing) of a pack asking for secrets, which no grant policy may hold. */
function createPackOutsideAnyPolicy(): Promise<unknown> {
  return custom.createClusterCustomObject({ group: 'skillpod.io', version: 'v1alpha1', plural: 'skillpacks', dryRun: 'All', body: {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: 'probe-outside-grant-policy' },
    spec: { description: 'probe', image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }],
      rbac: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } },
  } });
}

/** Waits until a refusal by an admission policy is in force (policies and their bindings load through informers). */
export async function refusedEventually(attempt: () => Promise<unknown>, match: RegExp, timeoutMs = 15_000, status = 403): Promise<string> {
  return await eventually(async () => {
    const { code, message } = await outcome(attempt());
    if (code !== status || !match.test(message)) throw new Error(`expected ${status} matching ${match}, got ${code}: ${message}`);
    return message;
  }, timeoutMs);
}
