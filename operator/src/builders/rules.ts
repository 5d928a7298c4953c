// Set algebra on RBAC PolicyRules, pure. A rule denotes a set of atomic permissions:
//   resource tuples (apiGroup, resource, verb, resourceName) and non-resource tuples (url, verb).
// A rule is the Cartesian product of its lists, so union, intersection and a canonical form can be computed
// exactly by expanding rules to tuples, working on tuple sets, and regrouping.
//
// Wildcards are kept as what RBAC makes of them (k8s.io/component-helpers/auth/rbac/validation):
//   apiGroups `*`: every group.            verbs `*`: every verb.
//   resources `*`: every resource and subresource; `*/<sub>`: that subresource of every resource; anything else,
//     `pods/*` included, is literal.
//   resourceNames absent: every name (written '' below); otherwise literal names.
//   nonResourceURLs `*`: every path; a trailing `*` matches a prefix; anything else is literal.
// Under these rules two wildcard patterns of one dimension either nest or are disjoint, so the meet (intersection)
// of two patterns is always one of them, or nothing: no new pattern is ever invented, and an intersection never
// widens either side. Example: a pack granted `get pods` that now asks for `* pods` keeps `get pods`; a pack granted
// `* *` that now asks for `get pods` gets `get pods`.
import type { V1PolicyRule } from '@kubernetes/client-node';

/** PolicyRule and ClusterPolicyRule of the API both fit. */
export interface RuleLike {
  apiGroups?: readonly string[] | undefined;
  resources?: readonly string[] | undefined;
  verbs: readonly string[];
  resourceNames?: readonly string[] | undefined;
  nonResourceURLs?: readonly string[] | undefined;
}

export type ResourceTuple = readonly [group: string, resource: string, verb: string, name: string];
export type URLTuple = readonly [url: string, verb: string];

export interface TupleSet {
  resources: ResourceTuple[];
  urls: URLTuple[];
}

/**
 * Expansion beyond this many tuples is refused by canonicalRules, which then only deduplicates whole rules. Packs
 * are bounded by the schema (32 rules of 32×32×32 entries and 64 names), so a pathological pack could otherwise
 * ask for millions of tuples; real packs have tens.
 */
export const MAX_TUPLES = 50_000;

const ALL_NAMES = '';

// ------------------------------------------------------------------------------------------- coverage of patterns

export function groupCovers(a: string, b: string): boolean {
  return a === '*' || a === b;
}
export const verbCovers = groupCovers;

export function resourceCovers(a: string, b: string): boolean {
  if (a === '*' || a === b) return true;
  if (!a.startsWith('*/')) return false;
  const slash = b.indexOf('/');
  return slash > 0 && b.slice(slash) === a.slice(1);
}

export function nameCovers(a: string, b: string): boolean {
  return a === ALL_NAMES || a === b;
}

export function urlCovers(a: string, b: string): boolean {
  if (a === '*' || a === b) return true;
  return a.endsWith('*') && b.startsWith(a.replace(/\*+$/, ''));
}

/** The intersection of two patterns of one dimension: one of them, or undefined when they are disjoint. */
function meet(covers: (a: string, b: string) => boolean, a: string, b: string): string | undefined {
  if (covers(a, b)) return b;
  if (covers(b, a)) return a;
  return undefined;
}

function listMeet(covers: (a: string, b: string) => boolean, as: readonly string[], bs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of as) {
    for (const b of bs) {
      const m = meet(covers, a, b);
      if (m !== undefined) out.add(m);
    }
  }
  return [...out];
}

// ------------------------------------------------------------------------------------------------------ expansion

function names(rule: RuleLike): readonly string[] {
  return rule.resourceNames && rule.resourceNames.length > 0 ? rule.resourceNames : [ALL_NAMES];
}

function expansionSize(rules: readonly RuleLike[]): number {
  let n = 0;
  for (const r of rules) {
    n += (r.apiGroups?.length ?? 0) * (r.resources?.length ?? 0) * r.verbs.length * names(r).length;
    n += (r.nonResourceURLs?.length ?? 0) * r.verbs.length;
  }
  return n;
}

/** Every atomic permission the rules grant (duplicates removed, unsorted). */
export function expandRules(rules: readonly RuleLike[]): TupleSet {
  const resources = new Map<string, ResourceTuple>();
  const urls = new Map<string, URLTuple>();
  for (const rule of rules) {
    for (const g of rule.apiGroups ?? []) {
      for (const r of rule.resources ?? []) {
        for (const v of rule.verbs) {
          for (const n of names(rule)) {
            const t: ResourceTuple = [g, r, v, n];
            resources.set(JSON.stringify(t), t);
          }
        }
      }
    }
    for (const u of rule.nonResourceURLs ?? []) {
      for (const v of rule.verbs) {
        const t: URLTuple = [u, v];
        urls.set(JSON.stringify(t), t);
      }
    }
  }
  return { resources: [...resources.values()], urls: [...urls.values()] };
}

export function resourceTupleCovers(a: ResourceTuple, b: ResourceTuple): boolean {
  return groupCovers(a[0], b[0]) && resourceCovers(a[1], b[1]) && verbCovers(a[2], b[2]) && nameCovers(a[3], b[3]);
}

export function urlTupleCovers(a: URLTuple, b: URLTuple): boolean {
  return urlCovers(a[0], b[0]) && verbCovers(a[1], b[1]);
}

/** Whether the rules grant every atom of the tuple (one rule must cover it: unions of literals never cover a wildcard). */
export function rulesCoverResource(rules: readonly RuleLike[], t: ResourceTuple): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).some((g) => groupCovers(g, t[0])) &&
      (r.resources ?? []).some((x) => resourceCovers(x, t[1])) &&
      r.verbs.some((v) => verbCovers(v, t[2])) &&
      names(r).some((n) => nameCovers(n, t[3])),
  );
}

export function rulesCoverURL(rules: readonly RuleLike[], t: URLTuple): boolean {
  return rules.some((r) => (r.nonResourceURLs ?? []).some((u) => urlCovers(u, t[0])) && r.verbs.some((v) => verbCovers(v, t[1])));
}

// ------------------------------------------------------------------------------------------ canonical form

/** Patterns of each dimension that would cover the value (itself included). */
function resourceCoverers(r: string): string[] {
  const out = [r, '*'];
  const slash = r.indexOf('/');
  if (slash > 0 && !r.startsWith('*/')) out.push(`*${r.slice(slash)}`);
  return out;
}

function urlCoverers(u: string): string[] {
  const out = new Set([u, '*']);
  for (let i = 0; i <= u.length; i++) out.add(`${u.slice(0, i)}*`);
  return [...out];
}

/** Drops tuples that another tuple of the set already covers (for example `get pods` beside `* pods`). */
function withoutSubsumed(set: TupleSet): TupleSet {
  const rkeys = new Set(set.resources.map((t) => JSON.stringify(t)));
  const resources = set.resources.filter((t) => {
    const [g, r, v, n] = t;
    for (const g2 of new Set([g, '*'])) {
      for (const r2 of new Set(resourceCoverers(r))) {
        for (const v2 of new Set([v, '*'])) {
          for (const n2 of new Set([n, ALL_NAMES])) {
            if (g2 === g && r2 === r && v2 === v && n2 === n) continue;
            if (rkeys.has(JSON.stringify([g2, r2, v2, n2]))) return false;
          }
        }
      }
    }
    return true;
  });
  const ukeys = new Set(set.urls.map((t) => JSON.stringify(t)));
  const urls = set.urls.filter(([u, v]) => {
    for (const u2 of urlCoverers(u)) {
      for (const v2 of new Set([v, '*'])) {
        if (u2 === u && v2 === v) continue;
        if (ukeys.has(JSON.stringify([u2, v2]))) return false;
      }
    }
    return true;
  });
  return { resources, urls };
}

const key = (values: Iterable<string>): string => JSON.stringify([...values].sort());

function group<T>(items: Iterable<T>, by: (item: T) => string, value: (item: T) => string): Map<string, { first: T; values: Set<string> }> {
  const out = new Map<string, { first: T; values: Set<string> }>();
  for (const item of items) {
    const k = by(item);
    const entry = out.get(k) ?? { first: item, values: new Set<string>() };
    entry.values.add(value(item));
    out.set(k, entry);
  }
  return out;
}

function sortRules(rules: V1PolicyRule[]): V1PolicyRule[] {
  const sortKey = (r: V1PolicyRule) => JSON.stringify([r.nonResourceURLs ?? [], r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.verbs]);
  return rules.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

/** Regroups tuples into as few rules as a fixed, deterministic procedure finds (not necessarily the fewest). */
export function regroup(set: TupleSet): V1PolicyRule[] {
  const { resources, urls } = withoutSubsumed(set);
  // (g, r, n) → verbs; (g, r, verbs) → names; (g, verbs, names) → resources; (resources, verbs, names) → groups.
  const byName = group(resources, ([g, r, , n]) => JSON.stringify([g, r, n]), ([, , v]) => v);
  const step1 = [...byName.values()].map(({ first: [g, r, , n], values }) => ({ g, r, n, verbs: key(values) }));
  const byVerbs = group(step1, (x) => JSON.stringify([x.g, x.r, x.verbs]), (x) => x.n);
  const step2 = [...byVerbs.values()].map(({ first, values }) => ({ g: first.g, r: first.r, verbs: first.verbs, names: key(values) }));
  const byResources = group(step2, (x) => JSON.stringify([x.g, x.verbs, x.names]), (x) => x.r);
  const step3 = [...byResources.values()].map(({ first, values }) => ({ g: first.g, verbs: first.verbs, names: first.names, resources: key(values) }));
  const byGroups = group(step3, (x) => JSON.stringify([x.resources, x.verbs, x.names]), (x) => x.g);
  const out: V1PolicyRule[] = [...byGroups.values()].map(({ first, values }) => {
    const ns = JSON.parse(first.names) as string[];
    const rule: V1PolicyRule = {
      apiGroups: [...values].sort(),
      resources: JSON.parse(first.resources) as string[],
      verbs: JSON.parse(first.verbs) as string[],
    };
    if (!(ns.length === 1 && ns[0] === ALL_NAMES)) rule.resourceNames = ns;
    return rule;
  });
  const byURLVerbs = group(
    group(urls, ([u]) => u, ([, v]) => v).values(),
    (x) => key(x.values),
    (x) => x.first[0],
  );
  for (const { first, values } of byURLVerbs.values()) {
    out.push({ nonResourceURLs: [...values].sort(), verbs: [...first.values].sort() });
  }
  return sortRules(out);
}

/** Whole rules with sorted, deduplicated lists; the fallback when expansion would be too large. */
function normalizeRule(rule: RuleLike): V1PolicyRule {
  const sorted = (xs: readonly string[] | undefined) => (xs && xs.length > 0 ? [...new Set(xs)].sort() : undefined);
  const out: V1PolicyRule = { verbs: sorted(rule.verbs) ?? [] };
  const g = sorted(rule.apiGroups);
  const r = sorted(rule.resources);
  const n = sorted(rule.resourceNames);
  const u = sorted(rule.nonResourceURLs);
  if (g) out.apiGroups = g;
  if (r) out.resources = r;
  if (n) out.resourceNames = n;
  if (u) out.nonResourceURLs = u;
  return out;
}

/**
 * The rules in canonical form: the same permissions, deduplicated, covered permissions dropped, regrouped and
 * sorted, so equal permission sets render equal rules (no needless Role updates, stable golden files).
 */
export function canonicalRules(rules: readonly RuleLike[]): V1PolicyRule[] {
  if (expansionSize(rules) > MAX_TUPLES) {
    const seen = new Map<string, V1PolicyRule>();
    for (const r of rules.map(normalizeRule)) seen.set(JSON.stringify(r), r);
    return sortRules([...seen.values()]);
  }
  return regroup(expandRules(rules));
}

/** The union of several rule lists, canonical. */
export function mergeRules(...lists: ReadonlyArray<readonly RuleLike[]>): V1PolicyRule[] {
  return canonicalRules(lists.flat());
}

/**
 * What both rule lists grant, canonical: `current` is a pack's rules now, `snapshot` what it granted when the
 * run's pod was created. The result never holds a permission that either side lacks, so a pack edited during a
 * run can only shrink what the run holds. Computed rule by rule (the meet of two Cartesian products is the product
 * of the meets of their lists), which is exact and never expands more than the result itself.
 */
export function intersectRules(current: readonly RuleLike[], snapshot: readonly RuleLike[]): V1PolicyRule[] {
  const meets: RuleLike[] = [];
  for (const c of current) {
    for (const s of snapshot) {
      const verbs = listMeet(verbCovers, c.verbs, s.verbs);
      if (verbs.length === 0) continue;
      const urls = listMeet(urlCovers, c.nonResourceURLs ?? [], s.nonResourceURLs ?? []);
      if (urls.length > 0) meets.push({ nonResourceURLs: urls, verbs });
      const apiGroups = listMeet(groupCovers, c.apiGroups ?? [], s.apiGroups ?? []);
      const resources = listMeet(resourceCovers, c.resources ?? [], s.resources ?? []);
      const resourceNames = listMeet(nameCovers, names(c), names(s));
      if (apiGroups.length === 0 || resources.length === 0 || resourceNames.length === 0) continue;
      meets.push(resourceNames.includes(ALL_NAMES) ? { apiGroups, resources, verbs } : { apiGroups, resources, verbs, resourceNames });
    }
  }
  return canonicalRules(meets);
}
