// The orphan sweep: cluster-scoped grants (ClusterRole, ClusterRoleBinding) have no owner reference, so if a
// run vanished without its finalizer running (the finalizer was removed by hand, etcd restored, …) they would
// stay forever. After the caches have synced, and then periodically, every such object whose run is not in the
// cache is checked by a direct read, and deleted only if the run is really gone (or is another run by now).
import { LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_NAMESPACE, LABEL_RUN_UID, MANAGED_BY } from '../api/index.ts';
import type { KubeObject, Logger, ResourceClient, Runnable } from '../runtime/index.ts';
import { AGENTRUN_TYPE } from './act.ts';
import type { Applier } from './kube-objects.ts';

export interface SweepDeps {
  client: ResourceClient;
  applier: Applier;
  /** The run from the cache, if any. */
  cachedRun: (namespace: string, name: string) => KubeObject | undefined;
  synced: () => boolean;
  log: Logger;
  intervalMs: number;
}

const KINDS = ['ClusterRoleBinding', 'ClusterRole'] as const;
const RBAC = 'rbac.authorization.k8s.io/v1';

/** One pass; returns the names it deleted. */
export async function sweepOnce(deps: SweepDeps): Promise<string[]> {
  const deleted: string[] = [];
  for (const kind of KINDS) {
    const list = await deps.client.list({ apiVersion: RBAC, kind }, { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` });
    for (const object of list.items) {
      const labels = object.metadata?.labels ?? {};
      const namespace = labels[LABEL_RUN_NAMESPACE];
      const name = labels[LABEL_RUN];
      const uid = labels[LABEL_RUN_UID];
      if (!namespace || !name || !uid) continue;
      if (deps.cachedRun(namespace, name)?.metadata?.uid === uid) continue;
      if (await runExists(deps, namespace, name, uid)) continue;
      await deps.applier.delete({ apiVersion: RBAC, kind, name: object.metadata?.name ?? '' }, true);
      deps.log.info({ kind, object: object.metadata?.name, run: `${namespace}/${name}` }, 'deleted an orphaned cluster-scoped grant');
      deleted.push(object.metadata?.name ?? '');
    }
  }
  return deleted;
}

async function runExists(deps: SweepDeps, namespace: string, name: string, uid: string): Promise<boolean> {
  const run = await deps.client.find<KubeObject>(AGENTRUN_TYPE, { namespace, name });
  return run?.metadata?.uid === uid;
}

export function orphanSweep(deps: SweepDeps): Runnable {
  return {
    name: 'orphan-sweep',
    async start(signal) {
      while (!signal.aborted) {
        if (deps.synced()) {
          await sweepOnce(deps).catch((err: unknown) => deps.log.warn({ error: String(err) }, 'orphan sweep failed; will retry'));
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, deps.synced() ? deps.intervalMs : 1000);
          signal.addEventListener('abort', () => { clearTimeout(timer); resolve(undefined); }, { once: true });
        });
      }
    },
  };
}
