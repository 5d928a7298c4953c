// The cache is behind our own writes. A pass that adds the finalizer and writes the status moves a run from
// resourceVersion a to b to c; the pod it created wakes the run again before the watch has delivered b and c, and a
// pass on version a would redo what is done and send a stale resourceVersion: a 409 and a retry, every time. So
// each write that changed the run remembers the version it replaced, and a pass that finds the cache still at such
// a version waits for the watch event our own write is sure to bring. Likewise a pod we created that the pod cache
// does not show yet: the status written after it names it, and a pass that did not find it in the cache would read
// it directly. client-go's controllers keep "expectations" for the same reasons. Versions are compared only for
// equality, as the API conventions ask: they are opaque.
import { RecentMap } from '../runtime/index.ts';

/** Runs remembered; beyond it the oldest are forgotten (a forgotten one costs at most one 409 or one read). */
const REMEMBERED_RUNS = 20_000;
/** Past this, a remembered write is forgotten: a watch event that never came must not hold a run up for good. */
const PATIENCE_MS = 30_000;

interface Expected {
  /** Versions of the run our writes replaced. */
  versions: Set<string>;
  /** A pod we created, until the pod informer delivers an event of it. */
  pod?: string;
  since: number;
}

export class OwnWrites {
  readonly #expected = new RecentMap<string, Expected>(REMEMBERED_RUNS);
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Our write took the run `key` from each of `before` to `after` (nothing is remembered when it changed nothing). */
  wrote(key: string, before: ReadonlyArray<string | undefined>, after: string | undefined): void {
    const replaced = before.filter((v): v is string => v !== undefined && v !== after);
    if (!after || replaced.length === 0) return;
    const entry = this.#entry(key);
    for (const v of replaced) entry.versions.add(v);
  }

  /** We are creating the run's pod `pod` (said before the request: its watch event may come before the answer). */
  expectPod(key: string, pod: string): void {
    this.#entry(key).pod = pod;
  }

  /** The pod informer delivered an event of the run's pod `pod` (its creation, or anything after). */
  sawPod(key: string, pod: string): void {
    const entry = this.#expected.get(key);
    if (entry?.pod === pod) delete entry.pod;
  }

  /**
   * Whether the caches are behind our writes: the run's cache shows a version one of them replaced, or the pod
   * informer has delivered nothing yet of the pod we created.
   */
  isBehind(key: string, resourceVersion: string | undefined): boolean {
    const entry = this.#expected.get(key);
    if (!entry) return false;
    if (this.#now() - entry.since < PATIENCE_MS) {
      if (resourceVersion && entry.versions.has(resourceVersion)) return true;
      if (entry.pod) return true;
    }
    this.#expected.delete(key); // caught up (or someone else wrote since): nothing to wait for
    return false;
  }

  /** The run's expectations, patient again from now: each write brings its own watch event. */
  #entry(key: string): Expected {
    const entry = this.#expected.get(key) ?? { versions: new Set<string>(), since: 0 };
    entry.since = this.#now();
    this.#expected.set(key, entry);
    return entry;
  }
}
