// The client-side rate limit (`--api-qps`, `--api-burst`, client-go's QPS/Burst) on the operator as it runs in
// production: operator/src/main.ts as its own process under the operator's ServiceAccount, behind the fault proxy
// (no faults: it only logs when each request arrives). A batch of runs makes far more requests than the limit lets
// through at once; from the proxy's log, no one-second window holds more than burst + qps of them, and every run
// still gets its pod. With leader election on: the Lease has a bucket of its own, so the renewals never queue
// behind that backlog (tens of seconds deep here, beyond the renew deadline) and the operator keeps leading.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { FaultProxy, type ProxiedRequest } from '../harness/fault-proxy.ts';
import { installSkillpod } from '../harness/operator.ts';
import { createAgentRun, KubeClient, OperatorProcess, operatorToken, PodRecorder, writeTokenKubeconfig } from '../harness/workload.ts';

const QPS = 3;
const BURST = 3;
const RUNS = 15;
/** Requests reach the proxy a little after their token was taken, not all equally late. */
const SLACK = 1;

const admin = KubeClient.fromKubeconfigFile(testCluster.info().kubeconfig);
let ns: string;
let proxy: FaultProxy;
let operator: OperatorProcess;
let pods: PodRecorder;

beforeAll(async () => {
  await installSkillpod();
  ns = await testCluster.createNamespace('rate-limit');
  const info = testCluster.info();
  const dir = await mkdtemp(join(info.dir, 'rate-limit-'));
  pods = new PodRecorder(admin, ns);
  await pods.start();
  proxy = await FaultProxy.start({
    upstream: info.apiServerUrl, ca: await readFile(info.caCert),
    cert: await readFile(join(info.dir, 'server.crt')), key: await readFile(join(info.dir, 'server.key')),
  });
  const kubeconfig = await writeTokenKubeconfig(join(dir, 'kubeconfig'), proxy.url, info.caCert, await operatorToken(admin));
  operator = OperatorProcess.start({
    kubeconfig, logFile: join(dir, 'operator.log'),
    args: [`--api-qps=${QPS}`, `--api-burst=${BURST}`, '--server-bind-address=127.0.0.1:0', '--operator-namespace=skillpod-system',
      `--watch-namespaces=${ns}`, '--resync-seconds=300', '--leader-elect=true', `--leader-election-id=skillpod-rate-limit-${Date.now().toString(36)}`],
  });
});

afterAll(async () => {
  await operator?.stop();
  await proxy?.stop();
  await pods?.stop();
  if (ns) await testCluster.deleteNamespace(ns);
  admin.close();
});

/** The most requests whose arrival falls in any window [t, t + ms). */
function busiestWindow(requests: ProxiedRequest[], ms: number): { count: number; from: number } {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let best = { count: 0, from: 0 };
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + ms) j++;
    if (j - i > best.count) best = { count: j - i, from: times[i]! };
  }
  return best;
}

describe('--api-qps and --api-burst', () => {
  it('hold the operator to burst + qps requests in any second, and every run still gets its pod', async () => {
    await operator.waitForOutput('caches synced; starting controllers', 60_000);
    const names = Array.from({ length: RUNS }, (_, i) => `limited-${i}`);
    await Promise.all(names.map((name) => createAgentRun(admin, ns, name, {})));
    // About 8 requests per run's start at 3 per second: some 40 s.
    await eventually(() => expect([...pods.uidsByRun.keys()].sort()).toEqual(names.map((n) => `${ns}/${n}`).sort()), 120_000, 500);
    expect(pods.duplicates()).toEqual([]);
    expect(operator.alive, 'still running: leadership never lost').toBe(true);
    expect(operator.logged('lost leadership: could not renew the lease in time')).toEqual([]);

    // Watches are not limited (as in client-go); everything else is.
    const seen = proxy.log.length;
    // The Lease's requests go through a bucket of their own (a few per second at most, counted apart).
    const log = proxy.log.slice(0, seen);
    const leaseRequests = log.filter((r) => r.parsed.resource === 'leases');
    // The start-up check (GET /version, config/startup.ts) runs once before the operator's client and its limiter exist.
    const limited = log.filter((r) => r.verb !== 'watch' && r.parsed.resource !== 'leases' && r.path !== '/version');
    const watches = log.filter((r) => r.verb === 'watch').length;
    const spanSeconds = (limited.at(-1)!.at - limited[0]!.at) / 1000;
    expect(limited.length, 'enough requests to need the limit').toBeGreaterThan(RUNS * 5);
    const busiest = busiestWindow(limited, 1000);
    expect(busiest.count, `requests in the second from ${busiest.from.toFixed(0)} ms`).toBeLessThanOrEqual(BURST + QPS + SLACK);
    // Over the whole batch: no more than the bucket lets through.
    expect(limited.length).toBeLessThanOrEqual(BURST + QPS * spanSeconds + SLACK);

    // The wait is on the operator's /metrics, as client-go names it: every request that arrived was observed, and
    // some waited.
    const port = operator.logged('serving /healthz, /readyz, /metrics')[0]?.port as number;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const sum = (series: string) => [...metrics.matchAll(new RegExp(`^rest_client_rate_limiter_duration_seconds_${series} (\\S+)$`, 'gm'))]
      .reduce((total, m) => total + Number(m[1]), 0);
    expect(sum('count\\{verb="[A-Z]+"\\}')).toBeGreaterThanOrEqual(limited.length + leaseRequests.length);
    expect(sum('sum\\{verb="[A-Z]+"\\}')).toBeGreaterThan(1);
    console.log(`rate limit: ${limited.length} requests (and ${watches} watches, ${leaseRequests.length} Lease requests) over ${spanSeconds.toFixed(1)} s for ${RUNS} runs; ` +
      `at most ${busiest.count} in any second (burst ${BURST} + qps ${QPS}); waited ${sum('sum\\{verb="[A-Z]+"\\}').toFixed(1)} s in all`);
  }, 180_000);
});
