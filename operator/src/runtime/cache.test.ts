import { describe, expect, it } from 'vitest';
import { ObjectCache } from './cache.ts';

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
