// Leader election on a real Lease: one leader at a time, a takeover when the leader stops renewing, and a fast
// hand-over when the leader releases the lease on shutdown.
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { KubeHttp, type KubeRequest } from '../../operator/src/runtime/kube-http.ts';
import { LeaderElector } from '../../operator/src/runtime/leader.ts';
import { createLogger } from '../../operator/src/runtime/logger.ts';

let kc: KubeConfig;
let ns: string;
const logger = createLogger({ level: process.env.SKILLPOD_TEST_LOG === '1' ? 'debug' : 'silent' });

beforeAll(async () => {
  kc = testCluster.kubeConfig();
  ns = await testCluster.createNamespace('rt-leader');
});

afterAll(async () => {
  await testCluster.deleteNamespace(ns);
});

interface Timeline {
  started: number[];
  stopped: number[];
}

/**
 * A candidate whose client can be cut off: requests fail as if the network to the API server were down. That is
 * how a leader "stops renewing" without the test stopping the API server for the other candidate too.
 */
function candidate(lease: string, identity: string, durations: { lease: number; renew: number; retry: number }) {
  const http = new KubeHttp(kc);
  const state = { partitioned: false };
  const timeline: Timeline = { started: [], stopped: [] };
  const elector = new LeaderElector({
    http: {
      request: <T>(req: KubeRequest): Promise<T> =>
        state.partitioned
          ? Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('partitioned'), { code: 'ECONNREFUSED' }) }))
          : http.request<T>(req),
    },
    namespace: ns,
    name: lease,
    identity,
    leaseDurationMs: durations.lease,
    renewDeadlineMs: durations.renew,
    retryPeriodMs: durations.retry,
    logger,
    onStartedLeading: () => timeline.started.push(Date.now()),
    onStoppedLeading: () => timeline.stopped.push(Date.now()),
  });
  return { elector, state, timeline };
}

async function readLease(name: string) {
  return kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: ns, name });
}

describe('LeaderElector', () => {
  it('elects one leader; another takes over only after the leader stopped renewing', async () => {
    const durations = { lease: 4000, renew: 3000, retry: 500 };
    const a = candidate('takeover', 'a', durations);
    const b = candidate('takeover', 'b', durations);
    void a.elector.start();
    await eventually(() => expect(a.elector.isLeader).toBe(true), 10_000);
    void b.elector.start();
    try {
      // b keeps trying but never wins while a renews.
      await new Promise((r) => setTimeout(r, 2 * durations.lease));
      expect(b.elector.isLeader).toBe(false);
      expect(b.elector.leader).toBe('a');
      const held = await readLease('takeover');
      expect(held.spec?.holderIdentity).toBe('a');
      expect(held.spec?.leaseDurationSeconds).toBe(4);

      a.state.partitioned = true;
      await eventually(() => expect(b.elector.isLeader).toBe(true), 20_000);
      // a gave up (renew deadline) before b could take over (lease duration, counted from b's last sighting).
      expect(a.elector.isLeader).toBe(false);
      expect(a.timeline.stopped).toHaveLength(1);
      expect(b.timeline.started[0]!).toBeGreaterThan(a.timeline.stopped[0]!);
      const taken = await readLease('takeover');
      expect(taken.spec?.holderIdentity).toBe('b');
      expect(taken.spec?.leaseTransitions).toBe(1);
    } finally {
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    }
  });

  it('releases the lease on stop, so that the next candidate takes over without waiting it out', async () => {
    const durations = { lease: 15_000, renew: 10_000, retry: 500 };
    const c = candidate('release', 'c', durations);
    const d = candidate('release', 'd', durations);
    void c.elector.start();
    await eventually(() => expect(c.elector.isLeader).toBe(true), 10_000);
    void d.elector.start();
    try {
      await eventually(() => expect(d.elector.leader).toBe('c'), 10_000);
      const stoppedAt = Date.now();
      await c.elector.stop();
      expect(c.timeline.stopped).toHaveLength(1);
      await eventually(() => expect(d.elector.isLeader).toBe(true), 10_000);
      // Well under the 15 s lease duration: the release handed it over.
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      expect((await readLease('release')).spec?.holderIdentity).toBe('d');
    } finally {
      await Promise.all([c.elector.stop(), d.elector.stop()]);
    }
    const released = await readLease('release');
    expect(released.spec?.holderIdentity ?? '').toBe('');
    expect(released.spec?.leaseDurationSeconds).toBe(1);
  });
});
