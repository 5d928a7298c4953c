// The manager end to end on a real API server: informers feed a controller, /readyz follows cache sync,
// /metrics carries controller-runtime metrics, reconciles that fail during an API server restart are retried, and
// shutdown stops work and releases the Lease.
import { spawn } from 'node:child_process';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import type { ReconcileContext } from '../../operator/src/runtime/controller.ts';
import { classifyError } from '../../operator/src/runtime/errors.ts';
import { createLogger } from '../../operator/src/runtime/logger.ts';
import { Manager, type ManagerOptions } from '../../operator/src/runtime/manager.ts';
import { Metrics } from '../../operator/src/runtime/metrics.ts';

let kc: KubeConfig;
let core: CoreV1Api;
let ns: string;
const managers: Manager[] = [];
const logger = createLogger({ level: process.env.SKILLPOD_TEST_LOG === '1' ? 'debug' : 'silent' });

beforeAll(async () => {
  kc = testCluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  ns = await testCluster.createNamespace('rt-manager');
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  await testCluster.deleteNamespace(ns);
});

function newManager(options: Partial<ManagerOptions> = {}): Manager {
  const m = new Manager({
    kubeConfig: kc,
    logger,
    metrics: new Metrics({ processMetrics: false }),
    server: { host: '127.0.0.1', port: 0 },
    shutdownGraceMs: 2000,
    ...options,
  });
  managers.push(m);
  return m;
}

function base(m: Manager): string {
  return `http://127.0.0.1:${m.server!.address!.port}`;
}

/** A controller that copies each ConfigMap's `data.want` into `data.seen`, reading it from the API. */
function mirrorController(m: Manager, log: string[]) {
  const informer = m.informer({ name: 'configmaps', resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ns } });
  const controller = m.controller({
    name: 'mirror',
    concurrency: 2,
    reconcile: async ({ namespace, name, reconcileID }: ReconcileContext) => {
      log.push(`${name}:${reconcileID}`);
      let cm;
      try {
        cm = await core.readNamespacedConfigMap({ namespace: namespace!, name });
      } catch (err) {
        if (classifyError(err).kind === 'NotFound') return;
        throw err;
      }
      const want = cm.data?.want;
      if (want === undefined || cm.data?.seen === want) return;
      await core.patchNamespacedConfigMap({ namespace: namespace!, name, body: [{ op: 'add', path: '/data/seen', value: want }] });
    },
  });
  controller.watch(informer);
  return { informer, controller };
}

async function seen(name: string): Promise<string | undefined> {
  return (await core.readNamespacedConfigMap({ namespace: ns, name })).data?.seen;
}

describe('Manager', () => {
  it('serves /readyz (503 until every cache syncs) and /metrics, and runs the controller', async () => {
    const m = newManager();
    const log: string[] = [];
    mirrorController(m, log);
    // An informer that cannot sync keeps /readyz at 503, naming it.
    m.informer({ name: 'missing', resource: { apiVersion: 'example.invalid/v1', plural: 'nothings' } });
    await m.start();

    expect((await fetch(`${base(m)}/healthz`)).status).toBe(200);
    await eventually(async () => {
      const r = await fetch(`${base(m)}/readyz`);
      expect(r.status).toBe(503);
      const body = await r.text();
      expect(body).toContain('[+]informer/configmaps ok');
      expect(body).toContain('[-]informer/missing failed: cache not synced');
    });

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'one' }, data: { want: 'x' } } });
    // Controllers wait for every cache; the unsyncable one holds them back.
    await new Promise((r) => setTimeout(r, 1000));
    expect(log).toEqual([]);
    expect((await m.stop()).reason).toBe('stopped');
  });

  it('reconciles, reports metrics, and keeps working across an API server restart', async () => {
    const m = newManager();
    const log: string[] = [];
    mirrorController(m, log);
    await m.start();
    await eventually(async () => expect((await fetch(`${base(m)}/readyz`)).status).toBe(200));

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'two' }, data: { want: 'a' } } });
    await eventually(async () => expect(await seen('two')).toBe('a'));

    const metrics = await (await fetch(`${base(m)}/metrics`)).text();
    expect(metrics).toMatch(/controller_runtime_reconcile_total\{controller="mirror",result="success"\} [1-9]/);
    expect(metrics).toContain('controller_runtime_max_concurrent_reconciles{controller="mirror"} 2');
    expect(metrics).toContain('workqueue_depth{name="mirror",controller="mirror"} 0');
    expect(metrics).toMatch(/workqueue_adds_total\{name="mirror",controller="mirror"\} [1-9]/);
    expect(metrics).toContain('skillpod_informer_synced{informer="configmaps"} 1');

    await testCluster.restartApiServer();
    // Work queued during or right after the outage must still get done.
    m.controllers[0]!.enqueue(`${ns}/two`);
    await eventually(async () => {
      await core.patchNamespacedConfigMap({ namespace: ns, name: 'two', body: [{ op: 'replace', path: '/data/want', value: 'b' }] });
    }, 60_000, 1000);
    await eventually(async () => expect(await seen('two')).toBe('b'), 60_000);
    expect(new Set(log).size).toBe(log.length); // one reconcile ID per attempt
  });

  it('with leader election: runs controllers only while leading, and releases the lease on stop', async () => {
    const leaderElection = { namespace: ns, name: 'rt-manager', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 500 };
    const first = newManager({ leaderElection: { ...leaderElection, identity: 'first' } });
    const firstLog: string[] = [];
    mirrorController(first, firstLog);
    await first.start();
    await eventually(() => expect(first.isLeader).toBe(true), 10_000);

    const second = newManager({ leaderElection: { ...leaderElection, identity: 'second' } });
    const secondLog: string[] = [];
    mirrorController(second, secondLog);
    await second.start();
    // The standby is ready (its caches sync) but does not reconcile.
    await eventually(async () => expect((await fetch(`${base(second)}/readyz`)).status).toBe(200));
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'three' }, data: { want: '1' } } });
    await eventually(async () => expect(await seen('three')).toBe('1'));
    expect(firstLog.some((l) => l.startsWith('three:'))).toBe(true);
    expect(secondLog).toEqual([]);
    const metrics = await (await fetch(`${base(second)}/metrics`)).text();
    expect(metrics).toContain('leader_election_master_status{name="rt-manager"} 0');

    const exit = await first.stop();
    expect(exit).toMatchObject({ reason: 'stopped', exitCode: 0, abandoned: {} });
    await eventually(() => expect(second.isLeader).toBe(true), 5000);
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'three', body: [{ op: 'replace', path: '/data/want', value: '2' }] });
    await eventually(async () => expect(await seen('three')).toBe('2'));
    expect(secondLog.some((l) => l.startsWith('three:'))).toBe(true);

    await second.stop();
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: 'rt-manager' });
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });

  it('abandons reconciles that outlive the shutdown grace period', async () => {
    const m = newManager({ shutdownGraceMs: 500 });
    const informer = m.informer({ name: 'configmaps', resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ns } });
    let aborted = false;
    m.controller({
      name: 'stuck',
      reconcile: ({ signal }) =>
        new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve()), { once: true })),
    }).watch(informer, (e) => (e.object.metadata?.name === 'kube-root-ca.crt' ? `${ns}/kube-root-ca.crt` : null));
    await m.start();
    await eventually(() => expect(m.controllers[0]!.queue.inflight).toBe(1));
    const exit = await m.stop();
    expect(exit.abandoned).toEqual({ stuck: [`${ns}/kube-root-ca.crt`] });
    expect(aborted).toBe(true);
  });

  it('on SIGTERM finishes in-flight work, releases the lease and exits 0', async () => {
    const managerUrl = new URL('../../operator/src/runtime/index.ts', import.meta.url).href;
    const script = `
      import { KubeConfig } from '@kubernetes/client-node';
      import { Manager, createLogger } from ${JSON.stringify(managerUrl)};
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(${JSON.stringify(testCluster.info().kubeconfig)});
      const m = new Manager({
        kubeConfig, logger: createLogger({ level: 'silent' }), handleSignals: true, shutdownGraceMs: 5000,
        leaderElection: { namespace: ${JSON.stringify(ns)}, name: 'rt-sigterm', identity: 'child', retryPeriodMs: 500 },
      });
      const informer = m.informer({ resource: { apiVersion: 'v1', plural: 'configmaps', namespace: ${JSON.stringify(ns)} } });
      m.controller({
        name: 'slow',
        reconcile: async () => { console.log('reconcile started'); await new Promise((r) => setTimeout(r, 2000)); console.log('reconcile finished'); },
      }).watch(informer, (e) => (e.object.metadata?.name === 'kube-root-ca.crt' ? 'x' : null));
      await m.start();
      const exit = await m.done;
      console.log('exit ' + exit.reason);
      process.exit(exit.exitCode);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(() => expect(out).toContain('reconcile started'), 30_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('reconcile finished');
      expect(out).toContain('exit signal');
    } finally {
      child.kill('SIGKILL');
    }
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name: 'rt-sigterm' });
    expect(lease.spec?.holderIdentity ?? '').toBe('');
  });
});
