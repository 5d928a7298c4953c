import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRules, intersectRules, MAX_TUPLES, mergeRules, type RuleLike } from './rules.ts';

// An evaluator written from Kubernetes' RBAC code (k8s.io/component-helpers/auth/rbac/validation, RuleAllows), kept
// independent of rules.ts so the properties below compare rules.ts against RBAC itself.
interface Request {
  group: string;
  resource: string; // `pods` or `pods/log`
  verb: string;
  name: string; // '' for list, create, …
}
function ruleAllows(r: RuleLike, q: Request): boolean {
  const verb = r.verbs.includes('*') || r.verbs.includes(q.verb);
  const group = (r.apiGroups ?? []).includes('*') || (r.apiGroups ?? []).includes(q.group);
  const [res, sub] = q.resource.split('/');
  const resource = (r.resources ?? []).some((x) => x === '*' || x === q.resource || (sub !== undefined && x === `*/${sub}`));
  void res;
  const name = !r.resourceNames || r.resourceNames.length === 0 || r.resourceNames.includes(q.name);
  return verb && group && resource && name;
}
function urlAllows(r: RuleLike, url: string, verb: string): boolean {
  const v = r.verbs.includes('*') || r.verbs.includes(verb);
  const u = (r.nonResourceURLs ?? []).some((x) => x === '*' || x === url || (x.endsWith('*') && url.startsWith(x.replace(/\*+$/, ''))));
  return v && u;
}
const allows = (rules: readonly RuleLike[], q: Request) => rules.some((r) => ruleAllows(r, q));
const allowsURL = (rules: readonly RuleLike[], url: string, verb: string) => rules.some((r) => urlAllows(r, url, verb));

const groups = ['', 'apps', 'batch'];
const resources = ['pods', 'pods/log', 'deployments', 'deployments/scale', 'secrets'];
const verbs = ['get', 'list', 'watch', 'create', 'delete'];
const names = ['', 'a', 'b'];
const urls = ['/healthz', '/healthz/ready', '/metrics', '/version', '/'];
const probes: Request[] = groups.flatMap((group) =>
  resources.flatMap((resource) => verbs.flatMap((verb) => [...names, 'zzz'].map((name) => ({ group, resource, verb, name })))),
);

const someOf = <T>(xs: readonly T[], extra: readonly T[]) => fc.uniqueArray(fc.constantFrom(...xs, ...extra), { minLength: 1, maxLength: 3 });
const resourceRule: fc.Arbitrary<RuleLike> = fc.record(
  {
    apiGroups: someOf(groups, ['*']),
    resources: someOf(resources, ['*', '*/log', '*/scale']),
    verbs: someOf(verbs, ['*']),
    resourceNames: fc.uniqueArray(fc.constantFrom('a', 'b'), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ['apiGroups', 'resources', 'verbs'] },
);
const urlRule: fc.Arbitrary<RuleLike> = fc.record({
  nonResourceURLs: someOf(urls, ['*', '/healthz*', '/healthz/*', '/m*']),
  verbs: someOf(['get', 'post'], ['*']),
});
const ruleList = fc.array(fc.oneof(resourceRule, resourceRule, urlRule), { maxLength: 5 });

describe('canonicalRules', () => {
  it.each<[string, RuleLike[], RuleLike[]]>([
    ['merges verbs of one resource', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['pods'], verbs: ['list'] }], [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]],
    ['groups resources with equal verbs', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get'] }]],
    ['drops what a wildcard verb covers', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', '*'] }], [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }]],
    ['drops named grants covered by an unnamed one', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['a'] }, { apiGroups: [''], resources: ['pods'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]],
    ['keeps named grants apart', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['b', 'a'] }], [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['a', 'b'] }]],
    ['*/scale covers deployments/scale', [{ apiGroups: ['apps'], resources: ['deployments/scale', '*/scale'], verbs: ['get'] }], [{ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['get'] }]],
    ['pods/* is literal', [{ apiGroups: [''], resources: ['pods/*', 'pods/log'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods/*', 'pods/log'], verbs: ['get'] }]],
    ['URL prefixes cover longer paths', [{ nonResourceURLs: ['/healthz', '/healthz/*', '/healthz/ready'], verbs: ['get'] }], [{ nonResourceURLs: ['/healthz', '/healthz/*'], verbs: ['get'] }]],
    ['empty', [], []],
  ])('%s', (_name, input, want) => {
    expect(canonicalRules(input)).toEqual(want);
  });

  it('is deterministic whatever the input order', () => {
    fc.assert(
      fc.property(ruleList, (rules) => {
        expect(canonicalRules([...rules].reverse())).toEqual(canonicalRules(rules));
        expect(canonicalRules(canonicalRules(rules))).toEqual(canonicalRules(rules));
      }),
    );
  });

  it('grants exactly what its input grants', () => {
    fc.assert(
      fc.property(ruleList, (rules) => {
        const out = canonicalRules(rules);
        for (const q of probes) expect(allows(out, q)).toBe(allows(rules, q));
        for (const u of [...urls, '/healthzx', '/metrics/x', '/other']) {
          for (const v of ['get', 'post', 'put']) expect(allowsURL(out, u, v)).toBe(allowsURL(rules, u, v));
        }
      }),
    );
  });

  it('falls back to whole-rule deduplication beyond MAX_TUPLES', () => {
    const many = Array.from({ length: 100 }, (_, i) => `r${i}`);
    const huge: RuleLike = { apiGroups: ['a', 'b', 'c'], resources: many, verbs: ['get', 'list', 'watch'], resourceNames: many };
    expect(100 * 100 * 9).toBeGreaterThan(MAX_TUPLES);
    const out = canonicalRules([huge, { ...huge, verbs: ['watch', 'list', 'get'] }]);
    expect(out).toHaveLength(1);
    expect(out[0]?.resources).toEqual([...many].sort());
  });
});

describe('mergeRules', () => {
  it('grants the union of its inputs', () => {
    fc.assert(
      fc.property(ruleList, ruleList, (a, b) => {
        const out = mergeRules(a, b);
        for (const q of probes) expect(allows(out, q)).toBe(allows(a, q) || allows(b, q));
      }),
    );
  });
});

describe('intersectRules', () => {
  const podsGet = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
  it.each<[string, RuleLike[], RuleLike[], RuleLike[]]>([
    ['a pack that widened keeps what it had', [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }], [podsGet], [podsGet]],
    ['a pack that shrank keeps what is left', [podsGet], [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], [podsGet]],
    ['a pack that changed entirely holds nothing', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }], [podsGet], []],
    ['wildcard group against a named group', [{ apiGroups: ['*'], resources: ['deployments'], verbs: ['get'] }], [{ apiGroups: ['apps', 'extensions'], resources: ['deployments'], verbs: ['get', 'list'] }], [{ apiGroups: ['apps', 'extensions'], resources: ['deployments'], verbs: ['get'] }]],
    ['*/scale against a resource', [{ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] }], [{ apiGroups: ['apps'], resources: ['deployments/scale', 'deployments'], verbs: ['*'] }], [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] }]],
    ['names narrow an unnamed grant', [{ ...podsGet, resourceNames: ['a'] }], [podsGet], [{ ...podsGet, resourceNames: ['a'] }]],
    ['an unnamed grant does not widen named ones', [podsGet], [{ ...podsGet, resourceNames: ['a', 'b'] }], [{ ...podsGet, resourceNames: ['a', 'b'] }]],
    ['different names meet in nothing', [{ ...podsGet, resourceNames: ['a'] }], [{ ...podsGet, resourceNames: ['b'] }], []],
    ['URL prefixes meet in the longer one', [{ nonResourceURLs: ['/healthz*'], verbs: ['get'] }], [{ nonResourceURLs: ['/healthz/ready', '/metrics'], verbs: ['*'] }], [{ nonResourceURLs: ['/healthz/ready'], verbs: ['get'] }]],
    ['URLs never meet resources', [{ nonResourceURLs: ['*'], verbs: ['*'] }], [podsGet], []],
    ['no snapshot rules, nothing', [podsGet], [], []],
  ])('%s', (_name, current, snapshot, want) => {
    expect(intersectRules(current, snapshot)).toEqual(want);
  });

  it('grants exactly what both sides grant (so never more than either)', () => {
    fc.assert(
      fc.property(ruleList, ruleList, (a, b) => {
        const out = intersectRules(a, b);
        for (const q of probes) expect(allows(out, q)).toBe(allows(a, q) && allows(b, q));
        for (const u of [...urls, '/healthzx', '/metrics/x']) {
          for (const v of ['get', 'post']) expect(allowsURL(out, u, v)).toBe(allowsURL(a, u, v) && allowsURL(b, u, v));
        }
        expect(intersectRules(b, a)).toEqual(out);
      }),
    );
  });
});
