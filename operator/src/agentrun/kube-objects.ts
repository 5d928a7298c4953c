// The writes of a run's objects, each idempotent and each remembered: server-side apply of what may change, plain
// deletes that treat "already gone" as done, both through the runtime's typed client.
import { createHash } from 'node:crypto';
import { RecentMap, type ObjectBody, type ResourceClient } from '../runtime/index.ts';
import type { ObjectRef } from './decide/index.ts';

/**
 * Objects remembered as applied or deleted. Beyond it the oldest are forgotten (a forgotten one costs one no-op
 * apply or one 404), so that the memory stays bounded over the life of the process: a run deleted while running
 * has its objects collected by the garbage collector, and nothing else would ever clear their entries. About
 * 200 bytes each; a run has four to eight objects, so 100,000 covers over 10,000 live runs.
 */
const REMEMBERED_OBJECTS = 100_000;

const keyOf = (r: { apiVersion?: string | undefined; kind?: string | undefined; namespace?: string | undefined; name?: string | undefined }) =>
  `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;

/**
 * Server-side apply, skipped when this process already applied the very same object: at a thousand runs, a
 * resync would otherwise send thousands of no-op writes. Likewise a delete is skipped when this process already
 * deleted the object (or found it gone) and has not applied it since: every reconcile of a run without cluster
 * rules "deletes" its ClusterRole and ClusterRoleBinding, which never existed. The memory is per process and
 * bounded, so a restart (or an entry forgotten) re-applies and re-deletes once.
 */
export class Applier {
  readonly #client: ResourceClient;
  readonly #applied = new RecentMap<string, string>(REMEMBERED_OBJECTS);
  readonly #deleted = new RecentMap<string, true>(REMEMBERED_OBJECTS);

  constructor(client: ResourceClient) {
    this.#client = client;
  }

  async apply(object: ObjectBody): Promise<void> {
    const key = keyOf({ apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata?.namespace, name: object.metadata?.name });
    const digest = createHash('sha256').update(JSON.stringify(object)).digest('base64url');
    if (this.#applied.get(key) === digest) return;
    this.#deleted.delete(key);
    await this.#client.apply(object, { discard: true });
    this.#applied.set(key, digest);
  }

  /**
   * Deletes, ignoring 404. Background propagation: dependents are the garbage collector's job. `seen`: the caller
   * has just seen the object exist (a list), so what this process remembers does not count.
   */
  async delete(ref: ObjectRef, seen = false): Promise<void> {
    const key = keyOf(ref);
    if (this.#deleted.has(key) && !seen) return;
    this.#applied.delete(key);
    await this.#client.delete(ref, { namespace: ref.namespace, name: ref.name }, { propagationPolicy: 'Background', notFoundOk: true });
    this.#deleted.set(key, true);
  }
}
