// The cache is behind our own writes. A pass that adds the finalizer and writes the status moves a run from
// resourceVersion a to b to c; the pod it created wakes the run again before the watch has delivered b and c, and a
// pass on version a would redo what is done and send a stale resourceVersion: a 409 and a retry, every time. So
// each write that changed the run remembers the version it replaced, and a pass that finds the cache still at such
// a version waits for the watch event our own write is sure to bring (client-go's controllers keep "expectations"
// for the same reason). Versions are compared only for equality, as the API conventions ask: they are opaque.
import { RecentMap } from '../runtime/index.ts';

/** Runs remembered; beyond it the oldest are forgotten (a forgotten one costs at most one 409). */
const REMEMBERED_RUNS = 20_000;
/** Past this, a remembered write is forgotten: a watch event that never came must not hold a run up for good. */
const PATIENCE_MS = 30_000;

export class OwnWrites {
  readonly #superseded = new RecentMap<string, { versions: Set<string>; since: number }>(REMEMBERED_RUNS);
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Our write took the run `key` from `before` to `after` (nothing is remembered when it changed nothing). */
  wrote(key: string, before: string | undefined, after: string | undefined): void {
    if (!before || !after || before === after) return;
    const entry = this.#superseded.get(key) ?? { versions: new Set<string>(), since: this.#now() };
    entry.versions.add(before);
    this.#superseded.set(key, entry);
  }

  /** Whether the cache shows a version of the run that one of our writes has already replaced. */
  isBehind(key: string, resourceVersion: string | undefined): boolean {
    const entry = this.#superseded.get(key);
    if (!entry) return false;
    if (resourceVersion && entry.versions.has(resourceVersion) && this.#now() - entry.since < PATIENCE_MS) return true;
    this.#superseded.delete(key); // caught up (or someone else wrote since): nothing to wait for
    return false;
  }
}
