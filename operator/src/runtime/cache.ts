import { keyOf, splitKey, type KubeObject } from './resource.ts';

/** Read access to an informer's cache. Objects are shared: treat them as read-only. */
export interface Store<T extends KubeObject> {
  /** By key: `namespace/name`, or `name` for cluster-scoped objects. */
  getByKey(key: string): T | undefined;
  get(namespace: string | undefined, name: string): T | undefined;
  /** All objects, or those of one namespace. */
  list(namespace?: string): T[];
  keys(): string[];
  /** Objects whose indexer (InformerOptions.indexers) returned `value`: "runs that name this pack". */
  byIndex(index: string, value: string): T[];
  readonly size: number;
}

/** Index name → the values an object is found under. */
export type Indexers<T> = Record<string, (obj: T) => readonly string[]>;

/** The informer's store: a map by key, with a per-namespace index so that `list(ns)` does not scan everything. */
export class ObjectCache<T extends KubeObject> implements Store<T> {
  readonly #items = new Map<string, T>();
  readonly #byNamespace = new Map<string, Set<string>>();
  readonly #indexers: Indexers<T>;
  /** Index name → value → keys. */
  readonly #indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Indexers<T> = {}) {
    this.#indexers = indexers;
    for (const name of Object.keys(indexers)) this.#indices.set(name, new Map());
  }

  getByKey(key: string): T | undefined {
    return this.#items.get(key);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(keyOf(namespace, name));
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.#items.values()];
    const keys = this.#byNamespace.get(namespace);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const v = this.#items.get(k);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  byIndex(index: string, value: string): T[] {
    const values = this.#indices.get(index);
    if (!values) throw new Error(`no index ${index}`);
    return [...(values.get(value) ?? [])].flatMap((k) => this.#items.get(k) ?? []);
  }

  #index(key: string, obj: T | undefined, add: boolean): void {
    if (obj === undefined) return;
    for (const [name, indexer] of Object.entries(this.#indexers)) {
      const values = this.#indices.get(name)!;
      for (const value of indexer(obj)) {
        let keys = values.get(value);
        if (add) {
          if (!keys) values.set(value, (keys = new Set()));
          keys.add(key);
        } else {
          keys?.delete(key);
          if (keys?.size === 0) values.delete(value);
        }
      }
    }
  }

  get size(): number {
    return this.#items.size;
  }

  /** Stores `obj` under `key`; returns the previous object. */
  set(key: string, obj: T): T | undefined {
    const old = this.#items.get(key);
    this.#index(key, old, false);
    this.#items.set(key, obj);
    this.#index(key, obj, true);
    const ns = splitKey(key).namespace;
    if (ns !== undefined) {
      let set = this.#byNamespace.get(ns);
      if (!set) this.#byNamespace.set(ns, (set = new Set()));
      set.add(key);
    }
    return old;
  }

  /** Removes `key`; returns the removed object. */
  delete(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#index(key, old, false);
    this.#items.delete(key);
    const ns = splitKey(key).namespace;
    if (ns !== undefined) {
      const set = this.#byNamespace.get(ns);
      set?.delete(key);
      if (set?.size === 0) this.#byNamespace.delete(ns);
    }
    return old;
  }
}
