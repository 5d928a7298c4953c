import { describe, expect, it } from 'vitest';
import { OwnWrites } from './own-writes.ts';

const noPod = () => false;

describe('OwnWrites', () => {
  it('says the cache is behind while it shows a version our writes replaced, until it catches up', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1'], '2'); // the finalizer
    w.wrote('ns/r', ['2'], '3'); // the status
    expect(w.isBehind('ns/r', '1', noPod)).toBe(true);
    expect(w.isBehind('ns/r', '2', noPod)).toBe(true);
    expect(w.isBehind('ns/r', '3', noPod)).toBe(false);
    expect(w.isBehind('ns/r', '1', noPod)).toBe(false); // forgotten once caught up
    expect(w.isBehind('ns/other', '1', noPod)).toBe(false);
  });

  it('remembers every version one write replaced (a write without precondition after a claim)', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1', '2', undefined], '3');
    expect(w.isBehind('ns/r', '2', noPod)).toBe(true);
    expect(w.isBehind('ns/r', '1', noPod)).toBe(true);
  });

  it('remembers nothing for a write that changed nothing (no watch event would come)', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['5'], '5');
    expect(w.isBehind('ns/r', '5', noPod)).toBe(false);
  });

  it('waits for a pod it created until the pod cache has it', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1'], '2');
    w.created('ns/r', 'r-abc');
    const cached = new Set<string>();
    const podCached = (name: string) => cached.has(name);
    expect(w.isBehind('ns/r', '2', podCached)).toBe(true);
    cached.add('r-abc');
    expect(w.isBehind('ns/r', '2', podCached)).toBe(false);
    cached.delete('r-abc');
    expect(w.isBehind('ns/r', '2', podCached)).toBe(false); // forgotten: a pod deleted since is the pass's to see
  });

  it('stops waiting after a while: a missed watch event must not hold a run up for good', () => {
    let now = 0;
    const w = new OwnWrites(() => now);
    w.wrote('ns/r', ['1'], '2');
    w.created('ns/r', 'r-abc');
    now = 29_000;
    expect(w.isBehind('ns/r', '2', noPod)).toBe(true);
    expect(w.isBehind('ns/r', '1', noPod)).toBe(true);
    now = 31_000;
    expect(w.isBehind('ns/r', '1', noPod)).toBe(false);
  });
});
