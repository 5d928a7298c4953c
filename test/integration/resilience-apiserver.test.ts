// API server faults, with the operator as a separate OS process under its ServiceAccount:
// 1. kube-apiserver restarted (twice) in the middle of a workload: every informer's watch is re-established, and
//    every run still reaches its end, so nothing that happened around the restarts was missed;
// 2. through a fault-injecting proxy on loopback, the API server answers 429 (with Retry-After) and then 500 for
//    a while: from the proxy's request log, no request of any stream (an informer's list/watch, one run's
//    reconciles) comes before the Retry-After it was given has passed, failures are followed by a back-off, and
//    the workload converges once the faults stop.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { FaultProxy, type ProxiedRequest } from '../harness/fault-proxy.ts';
import { applyPack, deletePack } from '../harness/kube.ts';
import { installSkillpod } from '../harness/operator.ts';
import { freePort } from '../harness/ports.ts';
import {
  createAgentRun, FakeKubelet, grantsLeft, KubeClient, listRuns, OperatorProcess, operatorToken, PodRecorder, writeTokenKubeconfig,
} from '../harness/workload.ts';

const PACK = 'rs-api-kubectl';
const admin = KubeClient.fromKubeconfigFile(testCluster.info().kubeconfig);
let dir: string;
let token: string;
const cleanups: Array<() => Promise<void>> = [];

const failing = (name: string) => Number(name.split('-').pop()) % 4 === 3;
const terminal = (phase: string | undefined) => phase === 'Succeeded' || phase === 'Failed';

beforeAll(async () => {
  await installSkillpod();
  dir = await mkdtemp(join(testCluster.info().dir, 'rs-api-'));
  await applyPack(PACK, { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
  token = await operatorToken(admin);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await deletePack(PACK);
  admin.close();
});

/** A namespace with a kubelet and a pod recorder, and an operator process watching it. */
async function workload(name: string, server: string) {
  const ns = await testCluster.createNamespace(name);
  cleanups.push(() => testCluster.deleteNamespace(ns));
  const kubelet = new FakeKubelet(admin, ns, {
    startAfterMs: 200, runForMs: () => 500 + Math.random() * 2500,
    end: (run) => {
      const n = run.split('/')[1]!;
      return failing(n) ? { exitCode: 3, message: `${n} failed`, podPhase: 'Failed' } : { exitCode: 0, message: `${n} done`, podPhase: 'Succeeded' };
    },
  });
  const pods = new PodRecorder(admin, ns);
  await Promise.all([kubelet.start(), pods.start()]);
  cleanups.push(() => kubelet.stop(), () => pods.stop());
  const port = await freePort();
  const kubeconfig = await writeTokenKubeconfig(join(dir, `kubeconfig-${name}`), server, testCluster.info().caCert, token);
  const operator = OperatorProcess.start({
    kubeconfig, logFile: join(dir, `operator-${name}.log`),
    args: [`--server-bind-address=127.0.0.1:${port}`, `--watch-namespaces=${ns}`, '--resync-seconds=300'],
  });
  cleanups.push(() => operator.stop());
  const metrics = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const series = (metric: string) => text.split('\n').filter((l) => l.startsWith(`${metric}{`));
    return { text, series };
  };
  await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 30_000);
  const create = (names: string[]) => Promise.all(names.map((n) => createAgentRun(admin, ns, n, { skills: [{ name: PACK }] })));
  return { ns, kubelet, pods, operator, metrics, create };
}

async function expectAllDone(ns: string, pods: PodRecorder, names: string[], timeoutMs: number): Promise<void> {
  await eventually(async () => {
    const runs = await listRuns(admin, ns);
    expect(runs.filter((r) => terminal(r.status?.phase)).map((r) => r.metadata.name).sort()).toEqual([...names].sort());
  }, timeoutMs, 500);
  for (const run of await listRuns(admin, ns)) {
    const n = run.metadata.name;
    expect(run.status, n).toMatchObject(failing(n) ? { phase: 'Failed', result: `${n} failed` } : { phase: 'Succeeded', result: `${n} done` });
  }
  expect(pods.duplicates()).toEqual([]);
  expect(pods.uidsByRun.size).toBe(names.length);
  await eventually(async () => expect(await grantsLeft(admin, ns)).toEqual([]), 30_000);
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('kube-apiserver restarted mid-workload', () => {
  it('re-establishes every watch and misses nothing', { timeout: 240_000 }, async () => {
    const w = await workload('rs-restart', testCluster.info().apiServerUrl);
    const all: string[] = [];
    for (const round of [0, 1]) {
      const batch = names(`r${round}`, 20);
      all.push(...batch);
      await w.create(batch);
      // Restart while runs of this batch are being started, are running, and are ending.
      await eventually(() => expect(w.pods.uidsByRun.size).toBeGreaterThan(all.length - 15), 60_000, 50);
      await testCluster.restartApiServer();
    }
    const restartedAt = performance.now();
    const late = names('late', 10);
    all.push(...late);
    await w.create(late);
    // Well inside the informers' own safety nets (watchdog 5 min, server watch timeout 5-10 min): a missed event
    // would leave a run unfinished here.
    await expectAllDone(w.ns, w.pods, all, 90_000);
    const convergedS = (performance.now() - restartedAt) / 1000;
    const { series } = await w.metrics();
    const restarts = series('skillpod_informer_restarts_total');
    for (const informer of ['agentruns/' + w.ns, 'pods/' + w.ns, 'skillpacks']) {
      expect(restarts.filter((l) => l.includes(`informer="${informer}"`)).length, `${informer} restarted`).toBeGreaterThan(0);
    }
    // Every informer watches again. A quiet one (no run needed it to converge) may still be in its restart backoff,
    // which doubles from 0.8 s while the API server is down, up to 30 s with a jitter of up to as much again.
    await eventually(async () => expect((await w.metrics()).series('skillpod_informer_watching').filter((l) => !l.endsWith(' 1'))).toEqual([]), 70_000, 1000);
    expect(w.operator.alive).toBe(true);
    console.log(`restart: ${all.length} runs converged ${convergedS.toFixed(1)} s after the second restart; ${restarts.join('; ')}`);
  });
});

/** A (Cluster)RoleBinding apply that follows the successful apply of its (Cluster)Role: the same attempt going on. */
function chained(stream: ProxiedRequest[], n: ProxiedRequest): boolean {
  const role = { rolebindings: 'roles', clusterrolebindings: 'clusterroles' }[n.parsed.resource ?? ''];
  return role !== undefined && n.verb === 'apply' && stream.some((m) => m.parsed.resource === role && m.parsed.name === n.parsed.name &&
    m.verb === 'apply' && (m.status ?? 0) < 300 && m.answeredAt !== undefined && m.answeredAt <= n.at && n.at - m.answeredAt < 2000);
}

/** What a request belongs to: one informer's list/watch, one run's reconciles, a pack's status, or nothing we track. */
function streamOf(r: ProxiedRequest): string | undefined {
  const p = r.parsed;
  if (p.resource === 'events') return undefined; // best effort, never retried
  if (r.method === 'GET' && p.name === undefined) return `informer ${r.path}?${r.query.get('labelSelector') ?? ''}`;
  if (p.resource === 'skillpacks') return `pack ${p.name}`;
  if (p.resource === 'agentruns') return `run ${p.namespace}/${p.name}`;
  const name = p.name ?? r.bodyName;
  if (!name) return `other ${r.method} ${r.path}`;
  const child = name.startsWith('skillpod:') ? name.split(':')[2] ?? name : name;
  return `run ${p.namespace ?? name.split(':')[1]}/${child.replace(/-[0-9a-f]{12}$/, '')}`;
}

describe('kube-apiserver answering 429 and 500 for a while', () => {
  it('the operator honours Retry-After, backs off, and converges', { timeout: 240_000 }, async () => {
    const info = testCluster.info();
    const proxy = await FaultProxy.start({
      upstream: info.apiServerUrl, ca: await readFile(info.caCert),
      cert: await readFile(join(info.dir, 'server.crt')), key: await readFile(join(info.dir, 'server.key')),
    });
    cleanups.push(() => proxy.stop());
    const w = await workload('rs-faults', proxy.url);
    const first = names('a', 20);
    await w.create(first);
    await eventually(() => expect(w.pods.uidsByRun.size).toBeGreaterThan(5), 60_000, 50);

    // 429 with Retry-After for 6 s; the watches are cut so that the informers must come back through it.
    const RETRY_AFTER = 3;
    const faultStart = performance.now();
    // Answers are held 100 ms, so that requests the operator sends together (a reconcile's independent writes)
    // all arrive before the first answer: only what it sends after an answer can be a reaction to it.
    proxy.setFault(() => ({ status: 429, retryAfterSeconds: RETRY_AFTER, message: 'too many requests, please try again later', delayMs: 100 }));
    const dropped = proxy.dropStreams();
    const during = names('b', 10);
    await w.create(during);
    await sleep(6000);
    // Then plain 500s for 5 s.
    proxy.setFault(() => ({ status: 500, message: 'internal error', delayMs: 100 }));
    await sleep(5000);
    proxy.setFault(undefined);
    const faultEnd = performance.now();
    const after = names('c', 10);
    await w.create(after);
    await expectAllDone(w.ns, w.pods, [...first, ...during, ...after], 90_000);

    // Per stream, in arrival order: what came after each injected fault.
    const streams = new Map<string, ProxiedRequest[]>();
    for (const r of proxy.log) {
      const s = streamOf(r);
      if (!s) continue;
      let list = streams.get(s);
      if (!list) streams.set(s, (list = []));
      list.push(r);
    }
    const early: string[] = [];
    const gaps429: number[] = [];
    const gaps500: number[] = [];
    for (const [stream, list] of streams) {
      list.sort((x, y) => x.at - y.at);
      for (const r of list) {
        if (!r.injected || r.answeredAt === undefined) continue;
        // The stream's next request sent after this answer. Not a reaction to it: requests sent alongside (they
        // arrived before the answer), and a RoleBinding applied because its Role, sent alongside, succeeded.
        const next = list.find((n) => n.at > r.answeredAt! && !chained(list, n));
        if (!next) continue;
        const gap = next.at - r.answeredAt;
        if (r.status === 429) {
          gaps429.push(gap);
          if (gap < RETRY_AFTER * 1000 - 20) early.push(`${stream}: ${Math.round(gap)} ms after a 429 (${r.method} ${r.path} → ${next.method} ${next.path})`);
        } else {
          gaps500.push(gap);
          if (gap < 700) early.push(`${stream}: ${Math.round(gap)} ms after a 500 (${r.method} ${r.path} → ${next.method} ${next.path})`);
        }
      }
    }
    expect(early, early.slice(0, 20).join('\n')).toEqual([]);
    const injected = proxy.log.filter((r) => r.injected);
    expect(injected.filter((r) => r.status === 429).length).toBeGreaterThan(3);
    expect(injected.filter((r) => r.status === 500).length).toBeGreaterThan(3);
    // Backing off keeps the load bounded: no more than a few requests per stream per second of faults.
    const faultSeconds = (faultEnd - faultStart) / 1000;
    const activeStreams = new Set(injected.map(streamOf).filter(Boolean)).size;
    expect(injected.length).toBeLessThan(activeStreams * faultSeconds * 1.5 + 20);
    expect(w.operator.alive).toBe(true);
    const min = (xs: number[]) => (xs.length ? Math.round(Math.min(...xs)) : NaN);
    console.log(`faults: ${dropped} watches cut; ${injected.length} requests answered with faults over ${faultSeconds.toFixed(1)} s in ` +
      `${activeStreams} streams; shortest gap after a 429 (Retry-After ${RETRY_AFTER} s) ${min(gaps429)} ms, after a 500 ${min(gaps500)} ms`);
  });
});
