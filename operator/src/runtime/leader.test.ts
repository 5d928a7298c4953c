import { describe, expect, it } from 'vitest';
import { LeaderElector, microTime } from './leader.ts';

// Elections themselves run against a real API server: test/integration/runtime-leader.test.ts.
describe('leader election', () => {
  it('writes MicroTime with exactly six fractional digits', () => {
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z');
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 0))).toBe('2025-01-02T03:04:05.000000Z');
  });

  it('refuses durations that would let two leaders overlap', () => {
    const base = { http: { request: () => Promise.reject(new Error('unused')) }, namespace: 'n', name: 'l', identity: 'i' };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(/retryPeriod/);
    expect(new LeaderElector(base).isLeader).toBe(false);
  });
});
