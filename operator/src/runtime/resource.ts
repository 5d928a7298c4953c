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

export function apiPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** `/api/v1/namespaces/ns/pods`, `/apis/skillpod.io/v1alpha1/skillpacks`, … */
export function collectionPath(ref: ResourceRef): string {
  const ns = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  return `${apiPrefix(ref.apiVersion)}${ns}/${ref.plural}`;
}

export function objectPath(ref: ResourceRef, name: string): string {
  return `${collectionPath(ref)}/${encodeURIComponent(name)}`;
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
