import { Writable } from 'node:stream';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Controller, retryDelayFor, TerminalError, type ReconcileContext, type ReconcileResult } from './controller.ts';
import { FakeClock, settle } from './fake-clock.ts';
import { createLogger } from './logger.ts';
import { Metrics } from './metrics.ts';

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

function setup(reconcile: (ctx: ReconcileContext) => Promise<ReconcileResult>) {
  const clock = new FakeClock(0);
  const { lines, logger } = captureLogs();
  const metrics = new Metrics({ processMetrics: false });
  const c = new Controller({ name: 'demo', reconcile, clock, logger, metrics, concurrency: 2 });
  return { c, clock, lines, metrics };
}

const status = (code: number, reason: string) => JSON.stringify({ kind: 'Status', code, reason, message: reason });

describe('Controller', () => {
  it('gives every reconcile its own id, in every log line', async () => {
    const seen: ReconcileContext[] = [];
    const { c, lines } = setup((ctx) => {
      seen.push(ctx);
      ctx.log.info('working');
      return Promise.resolve();
    });
    c.start();
    c.enqueue('ns/a');
    c.enqueue('cluster-thing');
    await c.queue.onIdle();
    c.enqueue('ns/a');
    await c.queue.onIdle();
    expect(seen.map((s) => [s.namespace, s.name])).toEqual([['ns', 'a'], [undefined, 'cluster-thing'], ['ns', 'a']]);
    expect(new Set(seen.map((s) => s.reconcileID)).size).toBe(3);
    const working = lines.filter((l) => l.msg === 'working');
    expect(working).toHaveLength(3);
    for (const l of working) {
      expect(typeof l.key).toBe('string');
      expect(typeof l.reconcileID).toBe('string');
      expect(l.controller).toBe('demo');
    }
  });

  it('maps results: requeueAfter delays, requeue backs off, success forgets', async () => {
    let result: ReconcileResult;
    const { c, clock, metrics } = setup(() => Promise.resolve(result));
    c.start();
    result = { requeueAfterMs: 30_000 };
    c.enqueue('ns/a');
    await settle();
    expect(c.queue.deadline('ns/a')).toBe(30_000);
    result = { requeue: true };
    await clock.advance(30_000);
    expect(c.queue.failures('ns/a')).toBe(1);
    result = undefined;
    await clock.advance(1000);
    expect(c.queue.failures('ns/a')).toBe(0);
    const text = await metrics.text();
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="requeue_after"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="requeue"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="demo",result="success"} 1');
  });

  it('classifies errors: conflict retries at once, 429 honours Retry-After, terminal never retries', async () => {
    let error: Error = new Error();
    const { c, clock, lines, metrics } = setup(() => Promise.reject(error));
    c.start();

    error = new ApiException(409, 'x', status(409, 'Conflict'), {});
    c.enqueue('ns/conflict');
    await settle();
    expect(c.queue.deadline('ns/conflict')).toBe(clock.now() + 5);

    error = new ApiException(429, 'x', status(429, 'TooManyRequests'), { 'retry-after': '9' });
    c.enqueue('ns/busy');
    await settle();
    expect(c.queue.deadline('ns/busy')).toBe(clock.now() + 9000);

    error = new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
    c.enqueue('ns/down');
    await settle();
    expect(c.queue.deadline('ns/down')).toBe(clock.now() + 1000);

    error = new TerminalError('spec can never work');
    c.enqueue('ns/hopeless');
    await settle();
    expect(c.queue.has('ns/hopeless')).toBe(false);

    const errorLine = lines.find((l) => l.key === 'ns/busy');
    expect(errorLine).toMatchObject({ level: 'warn', error: { kind: 'TooManyRequests', code: 429, retryAfterSeconds: 9 } });
    expect(JSON.stringify(lines)).not.toContain('HTTP-Code');
    const text = await metrics.text();
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="demo"} 4');
    expect(text).toContain('controller_runtime_terminal_reconcile_errors_total{controller="demo"} 1');
  });

  it('a reconcile that throws a programming error does not stop others', async () => {
    const done: string[] = [];
    const { c } = setup((ctx) => {
      if (ctx.name === 'bad') return Promise.reject(new TypeError('oops'));
      done.push(ctx.name);
      return Promise.resolve();
    });
    c.start();
    for (const k of ['ns/bad', 'ns/a', 'ns/b']) c.enqueue(k);
    await c.queue.onIdle();
    expect(done).toEqual(['a', 'b']);
  });

  it('stop abandons what outlives the grace period', async () => {
    const { c, clock } = setup(() => new Promise(() => undefined));
    c.start();
    c.enqueue('ns/stuck');
    await settle();
    const stopping = c.stop(1000);
    await clock.advance(1000);
    expect(await stopping).toEqual({ abandoned: ['ns/stuck'] });
  });

  it.each([
    [{ kind: 'Conflict', message: '' }, 0],
    [{ kind: 'TooManyRequests', message: '', retryAfterSeconds: 4 }, 4000],
    [{ kind: 'TooManyRequests', message: '' }, 1000],
    [{ kind: 'ServerError', message: '', retryAfterSeconds: 3 }, 3000],
    [{ kind: 'Network', message: '' }, 1000],
    [{ kind: 'Invalid', message: '' }, 0],
  ] as const)('retryDelayFor(%j) = %i', (info, ms) => {
    expect(retryDelayFor(info)).toBe(ms);
  });
});
