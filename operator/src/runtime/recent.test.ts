import { describe, expect, it } from 'vitest';
import { RecentMap } from './recent.ts';

type Step = ['set', string] | ['delete', string];

describe('RecentMap', () => {
  const cases: Array<{ name: string; capacity: number; steps: Step[]; kept: string[] }> = [
    { name: 'keeps everything under capacity', capacity: 3, steps: [['set', 'a'], ['set', 'b']], kept: ['a', 'b'] },
    { name: 'forgets the oldest over capacity', capacity: 2, steps: [['set', 'a'], ['set', 'b'], ['set', 'c']], kept: ['b', 'c'] },
    { name: 'a key set again becomes the newest', capacity: 2, steps: [['set', 'a'], ['set', 'b'], ['set', 'a'], ['set', 'c']], kept: ['a', 'c'] },
    { name: 'a deleted key frees its place', capacity: 2, steps: [['set', 'a'], ['set', 'b'], ['delete', 'a'], ['set', 'c']], kept: ['b', 'c'] },
    { name: 'capacity one keeps the last', capacity: 1, steps: [['set', 'a'], ['set', 'b']], kept: ['b'] },
  ];
  it.each(cases)('$name', ({ capacity, steps, kept }) => {
    const m = new RecentMap<string, number>(capacity);
    steps.forEach(([op, key], i) => (op === 'set' ? m.set(key, i) : m.delete(key)));
    expect(['a', 'b', 'c'].filter((k) => m.has(k))).toEqual(kept);
    expect(m.size).toBe(kept.length);
  });

  it('keeps the latest value of a key', () => {
    const m = new RecentMap<string, string>(2);
    m.set('a', 'old');
    m.set('a', 'new');
    expect(m.get('a')).toBe('new');
    expect(m.size).toBe(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new RecentMap(bad)).toThrow(RangeError);
  });
});
