// The orphan sweep: cluster-scoped grants (ClusterRole, ClusterRoleBinding) have no owner reference, so if a
// run vanished without its finalizer running (the finalizer was removed by hand, etcd restored, …) they would
// stay forever. After the caches have synced, and then periodically, every such object whose run is not in the
// cache is checked by a direct read, and deleted only if the run is really gone (or is another run by now).
import { AGENTRUN, API_VERSION, LABEL_MANAGED_BY, LABEL_RUN, LABEL_RUN_NAMESPACE, LABEL_RUN_UID, MANAGED_BY } from '../api/index.ts';
import { isNotFound, type KubeHttp, type KubeObject, type Logger, type Runnable } from '../runtime/index.ts';
import type { Applier } from './kube-objects.ts';

export interface SweepDeps {
  http: Pick<KubeHttp, 'request'>;
  applier: Applier;
  /** The run from the cache, if any. */
  cachedRun: (namespace: string, name: string) => KubeObject | undefined;
  synced: () => boolean;
  log: Logger;
  intervalMs: number;
}

const KINDS = ['ClusterRoleBinding', 'ClusterRole'] as const;
const PLURAL = { ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' } as const;

/** One pass; returns the names it deleted. */
export async function sweepOnce(deps: SweepDeps): Promise<string[]> {
  const deleted: string[] = [];
  for (const kind of KINDS) {
    const list = await deps.http.request<{ items: KubeObject[] }>({
      path: `/apis/rbac.authorization.k8s.io/v1/${PLURAL[kind]}`, query: { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` },
    });
    for (const object of list.items) {
      const labels = object.metadata?.labels ?? {};
      const namespace = labels[LABEL_RUN_NAMESPACE];
      const name = labels[LABEL_RUN];
      const uid = labels[LABEL_RUN_UID];
      if (!namespace || !name || !uid) continue;
      if (deps.cachedRun(namespace, name)?.metadata?.uid === uid) continue;
      if (await runExists(deps, namespace, name, uid)) continue;
      await deps.applier.delete('rbac.authorization.k8s.io/v1', kind, undefined, object.metadata?.name ?? '', true);
      deps.log.info({ kind, object: object.metadata?.name, run: `${namespace}/${name}` }, 'deleted an orphaned cluster-scoped grant');
      deleted.push(object.metadata?.name ?? '');
    }
  }
  return deleted;
}

async function runExists(deps: SweepDeps, namespace: string, name: string, uid: string): Promise<boolean> {
  try {
    const run = await deps.http.request<KubeObject>({ path: `/apis/${API_VERSION}/namespaces/${namespace}/${AGENTRUN.plural}/${name}` });
    return run.metadata?.uid === uid;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
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
