import { describe, expect, it } from 'vitest';
import { ObjectCache } from './cache.ts';
import type { KubeObject } from './resource.ts';

const obj = (namespace: string | undefined, name: string) => ({ metadata: { namespace, name } });

describe('ObjectCache', () => {
  it('stores, lists by namespace and deletes', () => {
    const c = new ObjectCache();
    c.set('a/x', obj('a', 'x'));
    c.set('a/y', obj('a', 'y'));
    c.set('b/x', obj('b', 'x'));
    c.set('pack', obj(undefined, 'pack'));
    expect(c.size).toBe(4);
    expect(c.get('a', 'x')).toEqual(obj('a', 'x'));
    expect(c.get(undefined, 'pack')).toEqual(obj(undefined, 'pack'));
    expect(c.list('a').map((o) => o.metadata?.name)).toEqual(['x', 'y']);
    expect(c.list('zzz')).toEqual([]);
    expect(c.delete('a/x')).toEqual(obj('a', 'x'));
    expect(c.delete('a/x')).toBeUndefined();
    expect(c.list('a')).toHaveLength(1);
    expect(c.keys().sort()).toEqual(['a/y', 'b/x', 'pack']);
  });
});

interface Run extends KubeObject { packs: string[] }
const run = (name: string, packs: string[]): Run => ({ metadata: { name, namespace: 'ns' }, packs });

describe('ObjectCache indexes', () => {
  it('finds objects by an indexed value, and follows updates and deletes', () => {
    const cache = new ObjectCache<Run>({ pack: (r) => r.packs });
    cache.set('ns/a', run('a', ['git', 'kubectl']));
    cache.set('ns/b', run('b', ['kubectl']));
    expect(cache.byIndex('pack', 'kubectl').map((r) => r.metadata?.name).sort()).toEqual(['a', 'b']);
    expect(cache.byIndex('pack', 'git').map((r) => r.metadata?.name)).toEqual(['a']);

    cache.set('ns/a', run('a', ['git'])); // kubectl switched out of the run
    expect(cache.byIndex('pack', 'kubectl').map((r) => r.metadata?.name)).toEqual(['b']);
    cache.delete('ns/b');
    expect(cache.byIndex('pack', 'kubectl')).toEqual([]);
    expect(cache.byIndex('pack', 'fetch')).toEqual([]);
  });

  it('refuses an index it was not given (a typo would otherwise wake no one)', () => {
    expect(() => new ObjectCache<Run>().byIndex('pack', 'git')).toThrow(/no index pack/);
  });
});
