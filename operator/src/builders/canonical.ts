// Deterministic rendering helpers.

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Sorted by canonical JSON, duplicates removed. */
export function uniqueSorted<T>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(canonicalJSON(item), item);
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as T);
}
