import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';
import { RuntimeServer } from './server.ts';

// A real server on a loopback port: these are HTTP semantics, not API-server behaviour.
describe('RuntimeServer', () => {
  let server: RuntimeServer | undefined;
  afterEach(async () => server?.close());

  async function start(): Promise<{ s: RuntimeServer; base: string }> {
    const metrics = new Metrics({ processMetrics: false });
    metrics.reconcileTotal.inc({ controller: 'c', result: 'success' });
    const s = new RuntimeServer({ host: '127.0.0.1', port: 0, metrics });
    server = s;
    const { port } = await s.listen();
    return { s, base: `http://127.0.0.1:${port}` };
  }

  it('answers healthz, readyz (503 until every check passes) and metrics', async () => {
    const { s, base } = await start();
    let synced = false;
    s.addReadyCheck('informer/pods', () => (synced ? true : { ok: false, message: 'not synced' }));
    s.addReadyCheck('informer/runs', () => true);
    s.addReadyCheck('boom', () => {
      throw new Error('check exploded');
    });

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    const body = await r.text();
    expect(body).toContain('[-]informer/pods failed: not synced');
    expect(body).toContain('[+]informer/runs ok');
    expect(body).toContain('[-]boom failed: Unknown: check exploded');

    synced = true;
    s.addReadyCheck('boom', () => 'fine now');
    r = await fetch(`${base}/readyz`);
    expect([r.status, await r.text()]).toEqual([200, 'ok\n']);
    expect(await (await fetch(`${base}/readyz?verbose`)).text()).toContain('[+]informer/pods ok');

    r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(await r.text()).toContain('controller_runtime_reconcile_total{controller="c",result="success"} 1');

    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('closes even with keep-alive clients', async () => {
    const { s, base } = await start();
    await fetch(`${base}/healthz`, { keepalive: true });
    await s.close();
    server = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
