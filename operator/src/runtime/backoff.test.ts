import { describe, expect, it } from 'vitest';
import { Backoff, exponentialDelay, jitter } from './backoff.ts';

describe('exponentialDelay', () => {
  it.each([
    [0, 5],
    [1, 10],
    [2, 20],
    [10, 5120],
    [20, 60_000],
    [5000, 60_000],
  ])('after %i failures waits %i ms', (failures, expected) => {
    expect(exponentialDelay(failures, { baseMs: 5, maxMs: 60_000 })).toBe(expected);
  });
});

describe('jitter', () => {
  it('stays within [ms, ms*(1+factor))', () => {
    expect(jitter(1000, 0.5, () => 0)).toBe(1000);
    expect(jitter(1000, 0.5, () => 0.999)).toBeCloseTo(1499.5);
    expect(jitter(1000, 0, () => 0.7)).toBe(1000);
  });
});

describe('Backoff', () => {
  it('grows, caps and resets', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 1, random: () => 0.5 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([150, 300, 600, 1000, 1000]);
    expect(b.failures).toBe(5);
    b.reset();
    expect(b.next()).toBe(150);
  });
});
