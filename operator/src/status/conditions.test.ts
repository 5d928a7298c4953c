import { describe, expect, it } from 'vitest';
import { setCondition, toRfc3339 } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with the transition time', () => {
    expect(setCondition([], { type: 'Ready', status: 'True', reason: 'Valid', message: '' }, t0))
      .toEqual([{ type: 'Ready', status: 'True', reason: 'Valid', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });

  it('keeps the transition time when only the reason or message changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t1);
    expect(second[0]).toMatchObject({ reason: 'B', message: 'b', lastTransitionTime: toRfc3339(t0) });
  });

  it('moves the transition time when the status changes, and leaves other conditions alone', () => {
    const first = setCondition(setCondition([], { type: 'Other', status: 'True', reason: 'X', message: '' }, t0),
      { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'A', message: '' }, t1);
    expect(second.map((c) => [c.type, c.lastTransitionTime])).toEqual([['Other', toRfc3339(t0)], ['Ready', toRfc3339(t1)]]);
  });
});
