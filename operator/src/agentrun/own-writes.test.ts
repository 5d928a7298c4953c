import { describe, expect, it } from 'vitest';
import { OwnWrites } from './own-writes.ts';

describe('OwnWrites', () => {
  it('says the cache is behind while it shows a version our writes replaced, until it catches up', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1'], '2'); // the finalizer
    w.wrote('ns/r', ['2'], '3'); // the status
    expect(w.isBehind('ns/r', '1')).toBe(true);
    expect(w.isBehind('ns/r', '2')).toBe(true);
    expect(w.isBehind('ns/r', '3')).toBe(false);
    expect(w.isBehind('ns/r', '1')).toBe(false); // forgotten once caught up
    expect(w.isBehind('ns/other', '1')).toBe(false);
  });

  it('remembers every version one write replaced (a status written with the finalizer patch\'s version)', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1', '2', undefined], '3');
    expect(w.isBehind('ns/r', '2')).toBe(true);
    expect(w.isBehind('ns/r', '1')).toBe(true);
  });

  it('remembers nothing for a write that changed nothing (no watch event would come)', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['5'], '5');
    expect(w.isBehind('ns/r', '5')).toBe(false);
  });

  it('waits for a pod it created until the pod informer delivers it', () => {
    const w = new OwnWrites(() => 0);
    w.wrote('ns/r', ['1'], '2');
    w.expectPod('ns/r', 'r-abc');
    expect(w.isBehind('ns/r', '2')).toBe(true);
    w.sawPod('ns/r', 'someone-elses');
    expect(w.isBehind('ns/r', '2')).toBe(true);
    w.sawPod('ns/r', 'r-abc'); // added, or already deleted: either way the pass will see what became of it
    expect(w.isBehind('ns/r', '2')).toBe(false);
  });

  it('stops waiting after a while: a missed watch event must not hold a run up for good', () => {
    let now = 0;
    const w = new OwnWrites(() => now);
    w.wrote('ns/r', ['1'], '2');
    w.expectPod('ns/r', 'r-abc');
    now = 29_000;
    expect(w.isBehind('ns/r', '2')).toBe(true);
    expect(w.isBehind('ns/r', '1')).toBe(true);
    now = 31_000;
    expect(w.isBehind('ns/r', '1')).toBe(false);
  });
});
