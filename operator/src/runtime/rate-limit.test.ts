import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './fake-clock.ts';
import { TokenBucket } from './rate-limit.ts';

/** Calls `wait` at each of `arrivals` (ms from the start) and returns when each call resolved, in call order. */
async function grantTimes(bucket: TokenBucket, clock: FakeClock, arrivals: number[], untilMs = 60_000): Promise<Array<number | undefined>> {
  const start = clock.now();
  const granted: Array<number | undefined> = arrivals.map(() => undefined);
  for (const [i, at] of arrivals.entries()) {
    await clock.advance(start + at - clock.now());
    void bucket.wait().then(() => (granted[i] = clock.now() - start));
  }
  await clock.advance(start + untilMs - clock.now());
  return granted;
}

describe('TokenBucket', () => {
  it.each([
    { name: 'qps 0 is no limit', qps: 0, burst: 1, arrivals: [0, 0, 0, 0, 0], want: [0, 0, 0, 0, 0] },
    { name: 'a full bucket, then one token per 1/qps', qps: 2, burst: 3, arrivals: [0, 0, 0, 0, 0, 0], want: [0, 0, 0, 500, 1000, 1500] },
    { name: 'refills no further than burst', qps: 10, burst: 2, arrivals: [0, 0, 10_000, 10_000, 10_000, 10_000], want: [0, 0, 10_000, 10_000, 10_100, 10_200] },
    { name: 'a partly refilled token is due when it is whole', qps: 4, burst: 1, arrivals: [0, 100], want: [0, 250] },
    { name: 'fractional qps', qps: 0.5, burst: 1, arrivals: [0, 0, 0], want: [0, 2000, 4000] },
    { name: 'burst below qps spreads requests evenly', qps: 100, burst: 1, arrivals: [0, 0, 0, 0], want: [0, 10, 20, 30] },
    { name: 'qps 3 burst 3 (the integration test)', qps: 3, burst: 3, arrivals: Array(9).fill(0) as number[], want: [0, 0, 0, 334, 667, 1000, 1334, 1667, 2000] },
    { name: 'late arrivals queue behind earlier ones', qps: 1, burst: 1, arrivals: [0, 0, 100, 1500], want: [0, 1000, 2000, 3000] },
  ])('$name', async ({ qps, burst, arrivals, want }) => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps, burst, clock });
    expect(await grantTimes(bucket, clock, arrivals)).toEqual(want);
    expect(clock.pending, 'no timer left once nobody waits').toBe(0);
    expect(bucket.waiting).toBe(0);
  });

  it.each([
    { qps: 3, burst: 3 },
    { qps: 50, burst: 10 },
    { qps: 0.7, burst: 2 },
  ])('grants never more than burst + qps·T in any window T (qps $qps, burst $burst, random arrivals)', async ({ qps, burst }) => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps, burst, clock });
    // Bursts and lulls: the gap after each arrival is 0 (half the time) or up to 3/qps.
    const arrivals: number[] = [];
    for (let at = 0, i = 0; i < 200; i++, at += random() < 0.5 ? 0 : Math.floor((random() * 3000) / qps)) arrivals.push(at);
    const granted = (await grantTimes(bucket, clock, arrivals, arrivals.at(-1)! + (200 * 1000) / qps + 1000)) as number[];
    expect(granted.every((t) => t !== undefined)).toBe(true);
    const sorted = [...granted].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i; j < sorted.length; j++) {
        // One millisecond of slack: grants happen on whole milliseconds.
        expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor((qps * (sorted[j]! - sorted[i]! + 1)) / 1000));
      }
    }
  });

  it('serves waiters first come, first served, even when a token is free on arrival', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    const order: string[] = [];
    await bucket.wait();
    void bucket.wait().then(() => order.push('a'));
    void bucket.wait().then(() => order.push('b'));
    await clock.advance(1000);
    // A token has just been handed to a; b still waits, and c, arriving now, goes after b.
    void bucket.wait().then(() => order.push('c'));
    await clock.advance(2000);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('rejects at once, taking no token, when the signal has already aborted', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    const reason = new Error('stopping');
    await expect(bucket.wait(AbortSignal.abort(reason))).rejects.toBe(reason);
    let granted = false;
    void bucket.wait().then(() => (granted = true));
    await settle();
    expect(granted).toBe(true);
  });

  it('rejects a waiter whose signal aborts; it takes no token and the next in line is served on time', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    await bucket.wait();
    const abort = new AbortController();
    const reason = new Error('gone');
    const outcomes: string[] = [];
    void bucket.wait(abort.signal).then(() => outcomes.push('b granted'), (err: unknown) => outcomes.push(err === reason ? 'b aborted' : 'b ?'));
    void bucket.wait().then(() => outcomes.push(`c granted at ${clock.now() - start}`));
    const start = clock.now();
    await clock.advance(200);
    abort.abort(reason);
    await clock.advance(1800);
    expect(outcomes).toEqual(['b aborted', 'c granted at 1000']);
    // b's token was never taken: the one due at 2000 is there for d at once.
    let d = false;
    void bucket.wait().then(() => (d = true));
    await settle();
    expect(d).toBe(true);
  });

  it('drops its timer when the only waiter aborts', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock });
    await bucket.wait();
    const abort = new AbortController();
    const waiting = bucket.wait(abort.signal);
    expect(clock.pending).toBe(1);
    abort.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(clock.pending).toBe(0);
    expect(bucket.waiting).toBe(0);
  });

  it('adds no tokens when the clock steps backwards', async () => {
    const clock = new FakeClock();
    let now = clock.now();
    const stepping = { now: () => now, setTimeout: clock.setTimeout.bind(clock), clearTimeout: clock.clearTimeout.bind(clock) };
    const bucket = new TokenBucket({ qps: 1, burst: 1, clock: stepping });
    await bucket.wait();
    now -= 60_000;
    let granted = false;
    void bucket.wait().then(() => (granted = true));
    await settle();
    expect(granted).toBe(false);
  });

  it.each([
    { qps: -1, burst: 1, error: /qps/ },
    { qps: Number.NaN, burst: 1, error: /qps/ },
    { qps: Number.POSITIVE_INFINITY, burst: 1, error: /qps/ },
    { qps: 1, burst: 0, error: /burst/ },
    { qps: 1, burst: 1.5, error: /burst/ },
  ])('refuses qps $qps with burst $burst', ({ qps, burst, error }) => {
    expect(() => new TokenBucket({ qps, burst })).toThrow(error);
  });

  it('needs no burst when there is no limit', async () => {
    await expect(new TokenBucket({ qps: 0, burst: 0 }).wait()).resolves.toBeUndefined();
  });
});
