import { describe, expect, it } from 'vitest';
import { FakeClock, settle } from './fake-clock.ts';
import { WorkQueue, type QueueOutcome, type QueueTask } from './queue.ts';

/** A handler whose calls the test finishes by hand. */
function manualHandler() {
  const calls: Array<{ task: QueueTask; finish: (o?: QueueOutcome | Error) => void; at: number }> = [];
  let clock: FakeClock | undefined;
  const handler = (task: QueueTask): Promise<QueueOutcome | void> =>
    new Promise((resolve, reject) => {
      calls.push({
        task,
        at: clock?.now() ?? 0,
        finish: (o) => (o instanceof Error ? reject(o) : resolve(o)),
      });
    });
  return { calls, handler, useClock: (c: FakeClock) => (clock = c) };
}

function setup(concurrency = 2) {
  const clock = new FakeClock(0);
  const h = manualHandler();
  h.useClock(clock);
  const errors: Array<[string, unknown]> = [];
  const q = new WorkQueue({
    name: 'test',
    handler: h.handler,
    concurrency,
    clock,
    backoff: { baseMs: 100, maxMs: 1000 },
    onError: (key, err) => errors.push([key, err]),
  });
  q.start();
  return { clock, q, calls: h.calls, errors };
}

const keys = (calls: Array<{ task: QueueTask }>): string[] => calls.map((c) => c.task.key);

describe('WorkQueue', () => {
  it('merges repeated adds of a waiting key', async () => {
    const { q, calls } = setup(1);
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('b');
    await settle();
    expect(keys(calls)).toEqual(['a']);
    expect(q.depth).toBe(1);
    calls[0]!.finish();
    await settle();
    calls[1]!.finish();
    await settle();
    expect(keys(calls)).toEqual(['a', 'b']);
    expect(q.stats()).toMatchObject({ depth: 0, inflight: 0 });
  });

  it('runs waiting keys by priority, first in first out within one; a higher add moves a waiting key forward', async () => {
    const { q, calls } = setup(1);
    q.add('busy');
    for (const k of ['c1', 'c2', 'c3']) q.add(k);
    q.add('end1', 1);
    q.add('c2', 1); // raised while it waits
    q.add('end1', 0); // a lower add never lowers it
    q.add('end2', 1);
    await settle();
    for (let i = 0; i < 6; i++) {
      calls[i]!.finish();
      await settle();
    }
    expect(keys(calls)).toEqual(['busy', 'end1', 'c2', 'end2', 'c1', 'c3']);
  });

  it('remembers the priority of a key re-added while it runs', async () => {
    const { q, calls } = setup(1);
    q.add('a');
    await settle();
    q.add('b');
    q.add('a', 5); // running: marked dirty at priority 5, so it re-runs before b
    calls[0]!.finish();
    await settle();
    expect(keys(calls)).toEqual(['a', 'a']);
    calls[1]!.finish();
    await settle();
    q.add('c');
    q.add('b', 0);
    calls[2]!.finish();
    await settle();
    // The priority was spent by the run: a plain add of the same key later waits its turn again.
    expect(keys(calls)).toEqual(['a', 'a', 'b', 'c']);
  });

  it('keeps adds before start and runs them once started', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    const q = new WorkQueue({ name: 'paused', clock, handler: ({ key }) => Promise.resolve(void seen.push(key)) });
    q.add('x');
    q.add('x');
    await settle();
    expect(seen).toEqual([]);
    q.start();
    await q.onIdle();
    expect(seen).toEqual(['x']);
  });

  it('never runs one key twice at once; an add while running re-runs it after', async () => {
    const { q, calls } = setup(4);
    q.add('a');
    await settle();
    q.add('a');
    q.add('a');
    await settle();
    expect(keys(calls)).toEqual(['a']);
    expect(q.inflight).toBe(1);
    calls[0]!.finish();
    await settle();
    expect(keys(calls)).toEqual(['a', 'a']);
    calls[1]!.finish();
    await settle();
    expect(keys(calls)).toEqual(['a', 'a']);
  });

  it('bounds parallelism', async () => {
    const { q, calls } = setup(2);
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await settle();
    expect(keys(calls)).toEqual(['a', 'b']);
    expect(q.stats()).toMatchObject({ depth: 2, inflight: 2 });
    calls[1]!.finish();
    await settle();
    expect(keys(calls)).toEqual(['a', 'b', 'c']);
  });

  it('retries failures with per-key exponential backoff, capped, reset on success', async () => {
    const { q, calls, clock, errors } = setup(1);
    q.add('a');
    await settle();
    calls[0]!.finish(new Error('boom')); // thrown: counts as failure 1, retry after 100
    await settle();
    expect(errors).toHaveLength(1);
    expect(q.deadline('a')).toBe(100);
    for (const [i, expectedDelay] of [[1, 200], [2, 400], [3, 800], [4, 1000], [5, 1000]] as const) {
      await clock.advance(q.deadline('a')! - clock.now());
      expect(calls).toHaveLength(i + 1);
      expect(calls[i]!.task.failures).toBe(i);
      calls[i]!.finish({ type: 'retry' });
      await settle();
      expect(q.deadline('a')! - clock.now()).toBe(expectedDelay);
    }
    await clock.advance(1000);
    calls[6]!.finish({ type: 'done' });
    await settle();
    expect(q.failures('a')).toBe(0);
    q.add('a');
    await settle();
    calls[7]!.finish({ type: 'retry' });
    await settle();
    expect(q.deadline('a')! - clock.now()).toBe(100);
  });

  it('honours a requested minimum delay (Retry-After) above the backoff', async () => {
    const { q, calls, clock } = setup(1);
    q.add('a');
    await settle();
    calls[0]!.finish({ type: 'retry', minDelayMs: 7000 });
    await settle();
    expect(q.deadline('a')).toBe(clock.now() + 7000);
  });

  it('holds back adds of a key until its requested delay has passed, also adds made while it ran', async () => {
    const { q, calls, clock } = setup(1);
    q.addAfter('a', 1000); // an earlier deadline (a timeout, say) must not cut the wait short either
    q.add('a');
    await settle();
    q.add('a'); // an event while it runs
    calls[0]!.finish({ type: 'retry', minDelayMs: 3000 });
    await settle();
    expect(calls).toHaveLength(1);
    q.add('a'); // an event while it waits
    await clock.advance(2999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(keys(calls)).toEqual(['a', 'a']);
    expect(calls[1]!.at).toBe(3000);
    calls[1]!.finish();
    await settle();
    q.add('a'); // after a success nothing holds it
    await settle();
    expect(calls).toHaveLength(3);
  });

  it('delayed adds: the earliest deadline wins, and they fire', async () => {
    const { q, calls, clock } = setup(1);
    q.addAfter('a', 5000);
    q.addAfter('a', 10_000);
    expect(q.deadline('a')).toBe(5000);
    q.addAfter('a', 2000);
    expect(q.deadline('a')).toBe(2000);
    expect(clock.pending).toBe(1);
    await clock.advance(1999);
    expect(calls).toHaveLength(0);
    await clock.advance(1);
    expect(keys(calls)).toEqual(['a']);
    expect(calls[0]!.at).toBe(2000);
    calls[0]!.finish({ type: 'requeueAfter', delayMs: 3000 });
    await settle();
    expect(q.deadline('a')).toBe(5000);
    await clock.advance(3000);
    expect(calls).toHaveLength(2);
  });

  it('a requeueAfter resets the failure count', async () => {
    const { q, calls, clock } = setup(1);
    q.add('a');
    await settle();
    calls[0]!.finish({ type: 'retry' });
    await clock.advance(100);
    calls[1]!.finish({ type: 'requeueAfter', delayMs: 50 });
    await settle();
    expect(q.failures('a')).toBe(0);
  });

  it('one handler throwing does not stop the others', async () => {
    const clock = new FakeClock(0);
    const done: string[] = [];
    const q = new WorkQueue({
      name: 't',
      clock,
      concurrency: 2,
      handler: ({ key }) => {
        if (key === 'bad') return Promise.reject(new Error('bad'));
        done.push(key);
        return Promise.resolve();
      },
      onError: () => undefined,
    });
    q.start();
    for (const k of ['bad', 'a', 'b', 'c']) q.add(k);
    await q.onIdle();
    expect(done).toEqual(['a', 'b', 'c']);
    expect(q.failures('bad')).toBe(1);
  });

  it('reports metrics hooks', async () => {
    const clock = new FakeClock(0);
    const seen = { added: 0, retried: 0, latency: [] as number[], work: [] as number[] };
    const q = new WorkQueue({
      name: 'm',
      clock,
      handler: () => Promise.resolve({ type: 'retry' }),
      hooks: {
        added: () => seen.added++,
        retried: () => seen.retried++,
        queueLatency: (s) => seen.latency.push(s),
        workDuration: (s) => seen.work.push(s),
      },
    });
    q.add('a');
    q.add('a');
    await clock.advance(1500);
    q.start();
    await settle();
    expect(seen).toMatchObject({ added: 1, retried: 1, latency: [1.5] });
    expect(seen.work).toHaveLength(1);
  });

  describe('shutDown', () => {
    it('drops waiting and delayed keys, ignores new adds, waits for in-flight', async () => {
      const { q, calls, clock } = setup(1);
      q.add('a');
      q.add('b');
      q.addAfter('c', 100);
      await settle();
      const stopped = q.shutDown(10_000);
      q.add('d');
      await settle();
      expect(clock.pending).toBe(1); // only the grace timer
      calls[0]!.finish({ type: 'retry' });
      expect(await stopped).toEqual({ abandoned: [] });
      await clock.advance(60_000);
      expect(keys(calls)).toEqual(['a']);
    });

    it('abandons handlers still running after the grace period and aborts them', async () => {
      const { q, calls, clock } = setup(2);
      q.add('slow');
      q.add('quick');
      await settle();
      const stopped = q.shutDown(5000);
      calls[1]!.finish();
      await clock.advance(5000);
      expect(await stopped).toEqual({ abandoned: ['slow'] });
      expect(calls[0]!.task.signal.aborted).toBe(true);
      calls[0]!.finish({ type: 'retry' });
      await settle();
      expect(q.has('slow')).toBe(false);
    });

    it('returns at once when idle', async () => {
      const { q } = setup(1);
      expect(await q.shutDown(1000)).toEqual({ abandoned: [] });
    });
  });
});
