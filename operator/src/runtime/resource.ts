/** Where a kind of object lives in the API, and how objects are keyed. */

export interface ResourceRef {
  /** `v1` for the core group, else `group/version` (`skillpod.io/v1alpha1`). */
  apiVersion: string;
  /** Lower-case plural as in the URL: `pods`, `agentruns`, `leases`. */
  plural: string;
  /** Limits a namespaced resource to one namespace; absent means all namespaces (or a cluster-scoped kind). */
  namespace?: string;
}

/**
 * Metadata as it arrives in JSON. client-node's model types claim `Date` for timestamps, but raw list/watch JSON
 * carries strings; typing them as strings keeps that honest.
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Metadata as a cache keeps it: named, and without `managedFields` (server-side apply's bookkeeping, never read). */
export type CachedMeta = ObjectMeta & { name: string };

export function cachedMeta(obj: KubeObject): CachedMeta {
  const { managedFields: _dropped, ...metadata } = obj.metadata ?? {};
  return { ...metadata, name: obj.metadata?.name ?? '' };
}

/**
 * A kind of object and where it lives: what the typed client (client.ts) needs to build its paths. The built-in
 * kinds the operator reads or writes are in BUILTIN_TYPES; custom resources are described by whoever owns them.
 */
export interface ResourceType {
  /** `v1` for the core group, else `group/version`. */
  apiVersion: string;
  kind: string;
  /** Lower-case plural as in the URL. */
  plural: string;
  namespaced: boolean;
}

const builtin = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({ apiVersion, kind, plural, namespaced });
const RBAC = 'rbac.authorization.k8s.io/v1';
const ADMISSION = 'admissionregistration.k8s.io/v1';

/** The built-in kinds the operator (and `make install`) reads or writes. */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('v1', 'Namespace', 'namespaces', false),
  builtin('v1', 'ServiceAccount', 'serviceaccounts', true),
  builtin('v1', 'ConfigMap', 'configmaps', true),
  builtin('v1', 'Pod', 'pods', true),
  builtin('v1', 'Event', 'events', true),
  builtin(RBAC, 'Role', 'roles', true),
  builtin(RBAC, 'RoleBinding', 'rolebindings', true),
  builtin(RBAC, 'ClusterRole', 'clusterroles', false),
  builtin(RBAC, 'ClusterRoleBinding', 'clusterrolebindings', false),
  builtin('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true),
  builtin('coordination.k8s.io/v1', 'Lease', 'leases', true),
  builtin('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true),
  builtin('authentication.k8s.io/v1', 'TokenReview', 'tokenreviews', false),
  builtin('authorization.k8s.io/v1', 'SubjectAccessReview', 'subjectaccessreviews', false),
  builtin('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
  builtin(ADMISSION, 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false),
  builtin(ADMISSION, 'ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', false),
];

/** A custom resource's type from its CRD constants (`{kind, plural, scope}`). */
export function customResourceType(apiVersion: string, crd: { kind: string; plural: string; scope: 'Namespaced' | 'Cluster' }): ResourceType {
  return { apiVersion, kind: crd.kind, plural: crd.plural, namespaced: crd.scope === 'Namespaced' };
}

export function apiPrefix(apiVersion: string): string {
  if (apiVersion === '' || apiVersion.split('/').length > 2) throw new Error(`invalid apiVersion ${JSON.stringify(apiVersion)}`);
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * A name or namespace as one path segment. Encoded, and refused where encoding cannot help: empty, `.` and `..`
 * (URL normalisation would climb the path; client-go refuses them too).
 */
export function pathSegment(value: string, what = 'name'): string {
  if (value === '' || value === '.' || value === '..') throw new Error(`invalid ${what} ${JSON.stringify(value)} in an API path`);
  return encodeURIComponent(value);
}

/** `/api/v1/namespaces/ns/pods`, `/apis/skillpod.io/v1alpha1/skillpacks`, …; no (or an empty) namespace: all of them. */
export function collectionPath(ref: ResourceRef): string {
  const ns = ref.namespace ? `/namespaces/${pathSegment(ref.namespace, 'namespace')}` : '';
  return `${apiPrefix(ref.apiVersion)}${ns}/${ref.plural}`;
}

/** `/api/v1/namespaces/ns/pods/name`, and with a subresource `…/name/status`. */
export function objectPath(ref: ResourceRef, name: string, subresource?: string): string {
  return `${collectionPath(ref)}/${pathSegment(name)}${subresource ? `/${pathSegment(subresource, 'subresource')}` : ''}`;
}

/** The queue and cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
