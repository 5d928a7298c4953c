/**
 * A map of at most `capacity` entries that forgets the least recently set one first. For a process's memory of
 * what it has done, where forgetting costs one redundant request but remembering forever grows without bound
 * (every run the operator has ever handled).
 */
export class RecentMap<K, V> {
  readonly capacity: number;
  readonly #items = new Map<K, V>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get(key: K): V | undefined {
    return this.#items.get(key);
  }

  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** Sets `key` as the most recent entry; drops the oldest once over capacity. */
  set(key: K, value: V): void {
    // Map keeps insertion order: deleting first moves a key that is set again to the end.
    this.#items.delete(key);
    this.#items.set(key, value);
    if (this.#items.size > this.capacity) this.#items.delete(this.#items.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.#items.delete(key);
  }

  get size(): number {
    return this.#items.size;
  }
}
