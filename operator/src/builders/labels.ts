// The labels on everything the operator creates (contract, design.md section 2).
import { LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_NAMESPACE, LABEL_RUN_UID, MANAGED_BY } from './names.ts';
import type { RunRef } from './run.ts';

/** Labels of namespaced children: managed-by, run name and run UID. */
export function runLabels(run: RunRef): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_RUN]: run.name, [LABEL_RUN_UID]: run.uid };
}

/** Labels of cluster-scoped children: the namespaced ones plus the run's namespace (they have no owner reference). */
export function clusterRunLabels(run: RunRef): Record<string, string> {
  return { ...runLabels(run), [LABEL_RUN_NAMESPACE]: run.namespace };
}

/** The selector that finds a run's pod (and only it): the UID label, never reused by a later run of the same name. */
export function runSelector(run: RunRef): Record<string, string> {
  return { [LABEL_RUN_UID]: run.uid };
}

/** A map with its keys sorted, so rendered objects do not depend on the order a user wrote them in. */
export function sortedMap<V>(map: Readonly<Record<string, V>> | undefined): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(map ?? {}).sort()) out[key] = (map as Record<string, V>)[key] as V;
  return out;
}

/**
 * User-supplied keys first, then ours on top: a user value can never shadow or fake a skillpod label or
 * annotation (the CRD refuses such keys as well; this is the second line).
 */
export function mergeOwnFirst(user: Readonly<Record<string, string>> | undefined, own: Record<string, string>): Record<string, string> {
  return sortedMap({ ...(user ?? {}), ...own });
}
