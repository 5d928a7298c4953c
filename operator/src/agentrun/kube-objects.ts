// The few writes the AgentRun controller makes, each idempotent: server-side apply of what may change, plain
// deletes that treat "already gone" as done.
import { createHash } from 'node:crypto';
import { FIELD_MANAGER } from '../api/index.ts';
import { isNotFound, RecentMap, type KubeHttp } from '../runtime/index.ts';

/**
 * Objects remembered as applied or deleted. Beyond it the oldest are forgotten (a forgotten one costs one no-op
 * apply or one 404), so that the memory stays bounded over the life of the process: a run deleted while running
 * has its objects collected by the garbage collector, and nothing else would ever clear their entries. About
 * 200 bytes each; a run has four to eight objects, so 100,000 covers over 10,000 live runs.
 */
const REMEMBERED_OBJECTS = 100_000;

interface Named {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

const PLURALS: Record<string, string> = {
  ServiceAccount: 'serviceaccounts', ConfigMap: 'configmaps', Pod: 'pods', Role: 'roles', RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', NetworkPolicy: 'networkpolicies',
};

export function objectPath(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`no path known for kind ${kind}`);
  const prefix = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  return `${prefix}${namespace ? `/namespaces/${namespace}` : ''}/${plural}/${name}`;
}

function pathOf(object: Named): string {
  return objectPath(object.apiVersion ?? '', object.kind ?? '', object.metadata?.namespace, object.metadata?.name ?? '');
}

/**
 * Server-side apply, skipped when this process already applied the very same object: at a thousand runs, a
 * resync would otherwise send thousands of no-op writes. Likewise a delete is skipped when this process already
 * deleted the object (or found it gone) and has not applied it since: every reconcile of a run without cluster
 * rules "deletes" its ClusterRole and ClusterRoleBinding, which never existed. The memory is per process and
 * bounded, so a restart (or an entry forgotten) re-applies and re-deletes once.
 */
export class Applier {
  readonly #http: Pick<KubeHttp, 'request'>;
  readonly #applied = new RecentMap<string, string>(REMEMBERED_OBJECTS);
  readonly #deleted = new RecentMap<string, true>(REMEMBERED_OBJECTS);

  constructor(http: Pick<KubeHttp, 'request'>) {
    this.#http = http;
  }

  async apply(object: Named): Promise<void> {
    const path = pathOf(object);
    const digest = createHash('sha256').update(JSON.stringify(object)).digest('base64url');
    if (this.#applied.get(path) === digest) return;
    this.#deleted.delete(path);
    await this.#http.request({
      method: 'PATCH', path, query: { fieldManager: FIELD_MANAGER, force: true },
      contentType: 'application/apply-patch+yaml', body: object,
    });
    this.#applied.set(path, digest);
  }

  /**
   * Deletes, ignoring 404. Background propagation: dependents are the garbage collector's job. `seen`: the caller
   * has just seen the object exist (a list), so what this process remembers does not count.
   */
  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, seen = false): Promise<void> {
    const path = objectPath(apiVersion, kind, namespace, name);
    if (this.#deleted.has(path) && !seen) return;
    this.#applied.delete(path);
    try {
      // DeleteOptions as a query, not a body: undici closes the connection after a DELETE that has a body.
      await this.#http.request({ method: 'DELETE', path, query: { propagationPolicy: 'Background' } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.#deleted.set(path, true);
  }
}
