// What the informer caches keep of each object (the `transform` of an informer). At thousands of runs the caches
// are most of the operator's memory, and most of an object is of no use to a reconcile:
// - `metadata.managedFields` (server-side apply bookkeeping) is never read, and is often the largest part;
// - of a pod, the reconcile reads its metadata (name, labels, the grant snapshot and gate annotations) and its
//   status (phase, container states), never its spec: the spec is what the builders rendered, and pods are never
//   updated. Keeping it would hold every run's full pod spec (containers, probes, volumes) in memory.
import type { KubeObject } from '../runtime/index.ts';

/** The object without `metadata.managedFields` (a shallow copy; the rest is shared, as caches treat it read-only). */
export function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!obj.metadata || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** A pod as the AgentRun controller reads it: apiVersion, kind, metadata (no managedFields) and status. */
export function podForCache(obj: KubeObject & { status?: unknown }): KubeObject {
  const { managedFields: _dropped, ...metadata } = obj.metadata ?? {};
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata, ...(obj.status !== undefined ? { status: obj.status } : {}) };
}
