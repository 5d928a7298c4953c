// The operator at scale (`make bench`): N AgentRuns created at once on a real control plane, pods moved through
// their phases by a fake kubelet, and the operator's figures set against a floor: a minimal controller
// (baseline.ts) doing only the writes every run needs, on the same control plane, with the same concurrency.
//
//   node test/bench/operator.ts [--sizes=100,1000,5000] [--headline=1000] [--concurrency=16] [--write=docs/benchmarks.md]
//                               [--json=FILE] [--operator-args="--flag=value ..."] [--source]
//
// Per phase (operator, then floor, each in a fresh namespace): time until every pod exists; create-to-pod latency;
// agent-end-to-grants-gone latency; API requests per run by verb (counted by a TLS-terminating proxy on loopback
// that only the measured process talks through); resident memory after start (caches synced, no runs), peak RSS
// and CPU seconds of the measured process (/proc); the
// CPU the API server and etcd spent; the machine's load. Results go to docs/benchmarks.md under `## Operator`,
// between markers (everything else in that file is left as it is), and as JSON.
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { install } from '../../operator/src/install/apply.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { freePort } from '../harness/ports.ts';
import { startWatchdog } from '../harness/processes.ts';
import { testbinDir } from '../harness/testbin.ts';
import {
  deniesAll, FakeKubelet, KubeClient, mapLimit, ObjectWatcher, OperatorProcess, operatorNodeFlags, operatorToken, PodRecorder, procStats, repoRoot, retrying,
  writeTokenKubeconfig, type ProcStats,
} from '../harness/workload.ts';
import type { BaselineConfig } from './baseline.ts';

const { values: flags } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,5000' },
    headline: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    write: { type: 'string' },
    json: { type: 'string' },
    'operator-args': { type: 'string', default: '' },
    'create-concurrency': { type: 'string', default: '50' },
    /** A phase gives up (and is reported incomplete) after 60 s plus this much per run. */
    'timeout-per-run-ms': { type: 'string', default: '400' },
    /** Figures measured before the fixes (JSON written by an earlier run), for the before/after table. */
    before: { type: 'string', default: 'test/bench/operator-before-fixes.json' },
    /** Only rewrite the report from the JSON of an earlier run (no control plane). */
    'from-json': { type: 'string' },
    /** Keep the proxy's request log and print the requests made for a few runs. */
    trace: { type: 'boolean', default: false },
    /** Development: only the operator phase (no floor, no report). */
    'operator-only': { type: 'boolean', default: false },
    /**
     * Run operator/src/main.ts under Node's type stripping (as `make run` does) instead of the compiled operator that
     * the image runs (tsc to .skillpod/bench-dist, entry main.js): stripping adds its own memory.
     */
    source: { type: 'boolean', default: false },
  },
});
const SIZES = flags.sizes.split(',').map(Number);
const HEADLINE = Number(flags.headline);
const CONCURRENCY = Number(flags.concurrency);
const CREATE_CONCURRENCY = Number(flags['create-concurrency']);
const PACK = 'bench-kubectl';
const KUBELET = { startAfterMs: 500, runForMs: 2000, concurrency: 32 };

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---------------------------------------------------------------------------------------------------------------

interface Percentiles { p50: number; p99: number; max: number; n: number }
function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN);
  return { p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1]! : NaN, n: s.length };
}

interface PhaseResult {
  kind: 'operator' | 'floor';
  runs: number;
  complete: boolean;
  createSeconds: number;
  allPodsSeconds: number;
  allDoneSeconds: number;
  createToPodMs: Percentiles;
  endToGrantsGoneMs: Percentiles;
  requests: Record<string, number>;
  requestsTotal: number;
  /** TCP (TLS) connections the measured process opened to the proxy. */
  connections: number;
  /** AgentRun reconciles (operator only). */
  reconciles: number;
  /** V8 heap in use at the end (operator only, from its /metrics). */
  heapUsedMiB: number;
  /** Resident memory and V8 heap in use once the process is ready (caches synced) and settled, before any run. */
  startRssMiB: number;
  startHeapUsedMiB: number;
  peakRssMiB: number;
  endRssMiB: number;
  cpuSeconds: number;
  apiServerCpuSeconds: number;
  etcdCpuSeconds: number;
  load: { mean: number; max: number };
}

interface Env {
  plane: ControlPlane;
  admin: KubeClient;
  proxy: FaultProxy;
  dir: string;
  token: string;
  /** The operator's entry point (main.js of the compiled operator, or operator/src/main.ts with --source). */
  operatorEntry: string;
}

const cpuOf = (pid: number | undefined) => (pid ? procStats(pid)?.cpuSeconds ?? 0 : 0);

/** `variant`: extra operator flags and the namespace suffix that tells the phase apart (the domain metrics off). */
async function phase(env: Env, kind: 'operator' | 'floor', runs: number, variant?: { args: string[]; suffix: string }): Promise<PhaseResult> {
  const { admin, proxy, plane } = env;
  const ns = `bench-${kind === 'operator' ? 'op' : 'floor'}-${runs}${variant ? `-${variant.suffix}` : ''}`;
  await admin.json('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await retrying(() => admin.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`), 30_000);

  // Observers, straight to the API server (not through the counting proxy).
  const createdAt = new Map<string, number>(); // run name → when its POST returned
  const podAt = new Map<string, number>(); // run name → when its pod was first seen
  const childOf = new Map<string, string>(); // child name → run name
  const goneKinds = new Map<string, Set<string>>();
  const goneAt = new Map<string, number>(); // run name → when the last of its four grants was gone
  const pods = new PodRecorder(admin, ns, (run, pod, at) => {
    const name = run.split('/')[1]!;
    podAt.set(name, at);
    childOf.set(pod.metadata.name, name);
  });
  const kubelet = new FakeKubelet(admin, ns, {
    startAfterMs: KUBELET.startAfterMs, runForMs: KUBELET.runForMs, concurrency: KUBELET.concurrency,
    end: (run) => ({ exitCode: 0, message: `${run} done`, podPhase: 'Running' }),
  });
  const grantWatchers = [
    `/api/v1/namespaces/${ns}/serviceaccounts`, `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
  ].map((path) => new ObjectWatcher(admin, path, (type, o, at) => {
    // A NetworkPolicy is gone as a grant when it is deleted or turned deny-all (the operator isolates a pod whose
    // sidecars still linger instead of leaving it without a policy).
    const isolated = type === 'MODIFIED' && path.endsWith('/networkpolicies') && deniesAll(o);
    if (type !== 'DELETED' && !isolated) return;
    const child = o.metadata.name;
    const kinds = goneKinds.get(child) ?? new Set<string>();
    goneKinds.set(child, kinds.add(path));
    if (kinds.size === 4 && !goneAt.has(child)) goneAt.set(child, at);
  }, 'app.kubernetes.io/managed-by=skillpod'));
  await Promise.all([pods.start(), kubelet.start(), ...grantWatchers.map((w) => { w.start(); return w.synced; })]);

  // The measured process, talking only through the proxy.
  let proc: OperatorProcess;
  let metricsUrl: string | undefined;
  const kubeconfig = await writeTokenKubeconfig(join(env.dir, `kubeconfig-${ns}`), proxy.url, plane.certs.caCert, env.token);
  if (kind === 'operator') {
    const port = await freePort();
    proc = OperatorProcess.start({
      kubeconfig, logFile: join(env.dir, `${ns}.log`), entry: env.operatorEntry,
      // The compiled operator runs with the image's Node flags (its ENTRYPOINT), as it does in a cluster.
      ...(env.operatorEntry.endsWith('.js') ? { nodeArgs: operatorNodeFlags() } : {}),
      args: [`--watch-namespaces=${ns}`, `--server-bind-address=127.0.0.1:${port}`, `--concurrency=${CONCURRENCY}`, '--log-level=warn', ...(variant?.args ?? []),
        ...flags['operator-args'].split(' ').filter(Boolean)],
      // e.g. --cpu-prof --cpu-prof-dir=/tmp/prof, to see where the operator's CPU goes
      ...(process.env.SKILLPOD_BENCH_OPERATOR_NODE_OPTIONS ? { env: { NODE_OPTIONS: process.env.SKILLPOD_BENCH_OPERATOR_NODE_OPTIONS } } : {}),
    });
    await retrying(async () => {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status !== 200) throw new Error('not ready');
    }, 60_000, 100);
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
  } else {
    const config: BaselineConfig = { server: proxy.url, caFile: plane.certs.caCert, token: env.token, namespace: ns, concurrency: CONCURRENCY, pack: PACK };
    const configFile = join(env.dir, `${ns}.json`);
    await writeFile(configFile, JSON.stringify(config));
    proc = OperatorProcess.start({ kubeconfig, logFile: join(env.dir, `${ns}.log`), entry: join(import.meta.dirname, 'baseline.ts'), args: [configFile] });
    await proc.waitForOutput('ready');
  }
  await sleep(1000); // let start-up settle, so its CPU is not counted
  // Memory right after start: the process is ready (the operator's /readyz: every cache synced) and no run exists yet.
  const startRssMiB = (proc.stats()?.rssBytes ?? NaN) / 2 ** 20;
  const startHeapUsedMiB = metricsUrl ? heapUsedOf(await (await fetch(metricsUrl)).text()) : NaN;
  proxy.resetCounts();
  const connections0 = proxy.connections;

  // Sampling: load, and the last readings of every process (a process that exits keeps its last).
  const [etcdPid, apiPid] = plane.state().pids;
  const loads: number[] = [];
  const cpu0 = { proc: proc.stats()?.cpuSeconds ?? 0, api: cpuOf(apiPid), etcd: cpuOf(etcdPid) };
  let last: ProcStats | undefined;
  const sampler = setInterval(() => {
    loads.push(loadavg()[0]!);
    last = proc.stats() ?? last;
  }, 1000);

  const t0 = performance.now();
  const names = Array.from({ length: runs }, (_, i) => `run-${i}`);
  await mapLimit(names, CREATE_CONCURRENCY, async (name) => {
    await retrying(() => admin.json('POST', `/apis/skillpod.io/v1alpha1/namespaces/${ns}/agentruns`, { body: {
      apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { name },
      spec: { task: 'benchmark', agent: { image: 'agent:bench' }, skills: [{ name: PACK }] },
    } }));
    createdAt.set(name, performance.now());
  });
  const createSeconds = (performance.now() - t0) / 1000;
  log(`${kind} ${runs}: ${runs} AgentRuns created in ${createSeconds.toFixed(1)} s`);

  const deadline = performance.now() + 60_000 + runs * Number(flags['timeout-per-run-ms']);
  let complete = false;
  let lastReport = 0;
  while (performance.now() < deadline) {
    const grantsDone = goneAt.size >= runs;
    if (grantsDone) {
      if (kind === 'floor') { complete = true; break; }
      const list = await admin.get<{ items: Array<{ status?: { phase?: string } }> }>(`/apis/skillpod.io/v1alpha1/namespaces/${ns}/agentruns`);
      if (list.items.filter((r) => r.status?.phase === 'Succeeded').length >= runs) { complete = true; break; }
    }
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      log(`${kind} ${runs}: ${podAt.size} pods, ${kubelet.ended.size} agents ended, ${goneAt.size} grant sets gone, load ${loadavg()[0]!.toFixed(1)}`);
    }
    await sleep(grantsDone ? 1000 : 250);
  }
  const tEnd = performance.now();
  clearInterval(sampler);
  last = proc.stats() ?? last;
  const requests = proxy.verbCounts();
  const connections = proxy.connections - connections0;
  // The operator's own count of AgentRun reconciles (all results), from its /metrics.
  let reconciles = NaN;
  let heapUsedMiB = NaN;
  if (metricsUrl) {
    const text = await (await fetch(metricsUrl)).text();
    heapUsedMiB = heapUsedOf(text);
    reconciles = text.split('\n').filter((l) => l.startsWith('controller_runtime_reconcile_total{') && l.includes('controller="agentrun"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }
  if (flags.trace) {
    for (const run of ['run-0', `run-${Math.floor(runs / 2)}`]) {
      const child = [...childOf].find(([, r]) => r === run)?.[0] ?? run;
      const mine = proxy.log.filter((r) => r.path.includes(`/${run}`) || r.path.includes(child) || r.bodyName === child || r.bodyName?.startsWith(`${run}.`));
      console.log(`${kind} ${run}:\n${mine.map((r) => `  ${((r.at - t0) / 1000).toFixed(3)} ${r.status} ${r.verb} ${r.path}${r.bodyName ? ` (${r.bodyName})` : ''}`).join('\n')}`);
    }
  }
  const cpu1 = { api: cpuOf(apiPid), etcd: cpuOf(etcdPid) };

  const podTimes = [...podAt.values()];
  const createToPod = names.flatMap((n) => (podAt.has(n) && createdAt.has(n) ? [podAt.get(n)! - createdAt.get(n)!] : []));
  const endToGone: number[] = [];
  for (const [child, at] of goneAt) {
    const run = childOf.get(child);
    const ended = run ? kubelet.ended.get(`${ns}/${run}`) : undefined;
    if (ended !== undefined) endToGone.push(at - ended);
  }
  const result: PhaseResult = {
    kind, runs, complete, createSeconds,
    allPodsSeconds: podTimes.length >= runs ? (Math.max(...podTimes) - t0) / 1000 : NaN,
    allDoneSeconds: (tEnd - t0) / 1000,
    createToPodMs: percentiles(createToPod),
    endToGrantsGoneMs: percentiles(endToGone),
    requests, requestsTotal: Object.values(requests).reduce((a, b) => a + b, 0), connections, reconciles, heapUsedMiB, startRssMiB, startHeapUsedMiB,
    peakRssMiB: (last?.peakRssBytes ?? 0) / 2 ** 20,
    endRssMiB: (last?.rssBytes ?? 0) / 2 ** 20,
    cpuSeconds: (last?.cpuSeconds ?? 0) - cpu0.proc,
    apiServerCpuSeconds: cpu1.api - cpu0.api,
    etcdCpuSeconds: cpu1.etcd - cpu0.etcd,
    load: { mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length), max: Math.max(0, ...loads) },
  };
  if (process.env.SKILLPOD_BENCH_HEAP_SIGNAL && kind === 'operator') {
    // Development: with NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2 the operator writes a heap snapshot now.
    proc.kill('SIGUSR2');
    await sleep(Number(process.env.SKILLPOD_BENCH_HEAP_SIGNAL));
  }
  if (pods.duplicates().length > 0) throw new Error(`${kind} ${runs}: a run got two pods: ${JSON.stringify(pods.duplicates())}`);
  await proc.stop();
  await Promise.all([pods.stop(), kubelet.stop(), ...grantWatchers.map((w) => w.stop())]);
  log(`${kind} ${runs}: ${complete ? 'done' : 'INCOMPLETE'} in ${result.allDoneSeconds.toFixed(1)} s; all pods after ${result.allPodsSeconds.toFixed(1)} s; ` +
    `create→pod p50 ${result.createToPodMs.p50.toFixed(0)} ms p99 ${result.createToPodMs.p99.toFixed(0)} ms; ` +
    `end→grants gone p50 ${result.endToGrantsGoneMs.p50.toFixed(0)} ms p99 ${result.endToGrantsGoneMs.p99.toFixed(0)} ms; ` +
    `${(result.requestsTotal / runs).toFixed(1)} requests/run ${JSON.stringify(requests)} over ${connections} connections; ${(reconciles / runs).toFixed(1)} reconciles/run; RSS after start ${startRssMiB.toFixed(0)} MiB, peak RSS ${result.peakRssMiB.toFixed(0)} MiB, heap at end ${heapUsedMiB.toFixed(0)} MiB; CPU ${result.cpuSeconds.toFixed(1)} s`);
  return result;
}

/**
 * The operator as the image runs it: compiled by tsc (tsconfig.build.json) into .skillpod/bench-dist, whose main.js
 * resolves node_modules and "type": "module" from the repository root. Type errors elsewhere in the tree do not
 * stop the emit (typecheck is its own suite); a missing main.js does.
 */
function compileOperator(): string {
  const outDir = join(repoRoot, '.skillpod/bench-dist');
  rmSync(outDir, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir],
    { cwd: repoRoot, encoding: 'utf8' });
  const entry = join(outDir, 'main.js');
  if (!existsSync(entry)) throw new Error(`compiling the operator failed:\n${tsc.stdout}${tsc.stderr}`);
  log(`operator compiled to ${entry}${tsc.status === 0 ? '' : ' (tsc reported type errors; emitted anyway)'}`);
  return entry;
}

/** V8 heap in use, in MiB, from the operator's /metrics. */
function heapUsedOf(metrics: string): number {
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1]) / 2 ** 20;
}

async function deleteNamespaces(admin: KubeClient, names: string[], waitMs: number): Promise<void> {
  for (const ns of names) await admin.raw('DELETE', `/api/v1/namespaces/${ns}`);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const statuses = await Promise.all(names.map((ns) => admin.raw('GET', `/api/v1/namespaces/${ns}`).then((r) => r.status)));
    if (statuses.every((s) => s === 404)) return;
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

interface Machine { cpus: number; model: string; memoryGiB: number; kernel: string; node: string; loadAtStart: number[] }

interface Report {
  date: string; machine: Machine; concurrency: number; kubelet: typeof KUBELET; operatorEntry?: string;
  results: Array<{ runs: number; operator: PhaseResult; floor: PhaseResult }>;
  /** The operator at the headline size with --domain-metrics=false: what the skillpod_* metrics cost. */
  withoutDomainMetrics?: PhaseResult;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
/** a / b, with enough digits to tell a small ratio from zero. */
const ratio = (a: number, b: number) => {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return 'n/a';
  const r = a / b;
  return `${r >= 0.95 || r === 0 ? r.toFixed(1) : r.toPrecision(1)}×`;
};
const VERBS = ['create', 'apply', 'patch', 'update', 'delete', 'get', 'list', 'watch'];

function beforeAfter(report: Report, before: Report | undefined): string[] {
  if (!before) return [];
  const rows: string[] = [];
  for (const { runs, operator: a } of report.results) {
    const b = before.results.find((r) => r.runs === runs)?.operator;
    if (!b) continue;
    const pair = (label: string, x: (p: PhaseResult) => string) => rows.push(`| ${runs.toLocaleString('en')} | ${label} | ${x(b)} | ${x(a)} |`);
    const pct = (p: Percentiles) => `${fmt(p.p50 / 1000)} / ${fmt(p.p99 / 1000)} s`;
    pair('every run finished, grants gone', (p) => `${fmt(p.allDoneSeconds)} s${p.complete ? '' : ` (gave up: ${p.createToPodMs.n} of ${p.runs} pods)`}`);
    pair('create → pod, p50 / p99', (p) => pct(p.createToPodMs));
    pair('agent end → grants gone, p50 / p99', (p) => pct(p.endToGrantsGoneMs));
    pair('API requests per run', (p) => fmt(p.requestsTotal / p.runs));
    pair('TCP+TLS connections opened', (p) => (p.connections === undefined ? 'n/a' : String(p.connections)));
    pair('RSS after start (caches synced, no runs)', (p) => (p.startRssMiB === undefined ? 'n/a' : `${fmt(p.startRssMiB, 0)} MiB`));
    pair('peak RSS', (p) => `${fmt(p.peakRssMiB, 0)} MiB`);
    pair('CPU seconds (per run)', (p) => `${fmt(p.cpuSeconds)} (${fmt((p.cpuSeconds * 1000) / p.runs, 0)} ms)`);
    pair('load average during the phase, mean', (p) => fmt(p.load.mean));
  }
  if (rows.length === 0) return [];
  return ['### Before and after the fixes', '',
    `The operator before the fixes listed below (figures kept in \`${flags.before}\`, measured ${before.date} with this benchmark, ` +
    `load average ${before.machine.loadAtStart.map((l) => l.toFixed(1)).join(' / ')} at its start) and in this run.`, '',
    '| runs | | before | after |', '|---|---|---|---|', ...rows, ''];
}

/** The operator with and without its domain metrics (skillpod_*), same size, same run: what those metrics cost. */
function metricsCost(report: Report): string[] {
  const off = report.withoutDomainMetrics;
  const on = report.results.find((r) => r.runs === off?.runs)?.operator;
  if (!off || !on) return [];
  const perRun = (p: PhaseResult) => `${fmt((p.cpuSeconds * 1000) / p.runs, 1)} ms`;
  return ['### What the domain metrics cost', '',
    `The operator at ${off.runs.toLocaleString('en')} runs again, with \`--domain-metrics=false\` (the \`skillpod_*\` metrics of ` +
    'docs/operations.md left out; controller, work-queue and client metrics stay), in the same run. The difference is within the noise ' +
    'of a shared machine when it is smaller than the spread between sizes above.', '',
    '| | with | without | with / without |', '|---|---|---|---|',
    `| CPU seconds (per run) | ${fmt(on.cpuSeconds)} (${perRun(on)}) | ${fmt(off.cpuSeconds)} (${perRun(off)}) | ${ratio(on.cpuSeconds, off.cpuSeconds)} |`,
    `| peak RSS | ${fmt(on.peakRssMiB, 0)} MiB | ${fmt(off.peakRssMiB, 0)} MiB | ${ratio(on.peakRssMiB, off.peakRssMiB)} |`,
    `| every run finished, grants gone | ${fmt(on.allDoneSeconds)} s | ${fmt(off.allDoneSeconds)} s | ${ratio(on.allDoneSeconds, off.allDoneSeconds)} |`,
    ''];
}

function markdown(report: Report, before?: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  const head = report.results.find((r) => r.runs === HEADLINE) ?? report.results[report.results.length - 1]!;
  const o = head.operator;
  const f = head.floor;
  lines.push(`Measured ${report.date} by \`make bench\` (\`test/bench/operator.ts\`) on ${m.cpus} CPUs (${m.model}), ${m.memoryGiB.toFixed(0)} GiB, ` +
    `Linux ${m.kernel}, Node ${m.node}; load average ${m.loadAtStart.map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) at the start, ` +
    'on a machine shared with other work. Control plane: the test harness (etcd, kube-apiserver, kube-controller-manager; no kubelet).');
  lines.push('');
  lines.push(`### ${head.runs.toLocaleString('en')} AgentRuns at once`);
  lines.push('');
  lines.push('| | operator | floor | operator / floor |');
  lines.push('|---|---|---|---|');
  lines.push(`| time until every pod exists | ${fmt(o.allPodsSeconds)} s | ${fmt(f.allPodsSeconds)} s | ${ratio(o.allPodsSeconds, f.allPodsSeconds)} |`);
  const sec = (p: Percentiles) => `${fmt(p.p50 / 1000)} / ${fmt(p.p99 / 1000)} s`;
  lines.push(`| create → pod, p50 / p99 | ${sec(o.createToPodMs)} | ${sec(f.createToPodMs)} | ${ratio(o.createToPodMs.p50, f.createToPodMs.p50)} / ${ratio(o.createToPodMs.p99, f.createToPodMs.p99)} |`);
  lines.push(`| agent end → grants gone, p50 / p99 | ${sec(o.endToGrantsGoneMs)} | ${sec(f.endToGrantsGoneMs)} | ${ratio(o.endToGrantsGoneMs.p50, f.endToGrantsGoneMs.p50)} / ${ratio(o.endToGrantsGoneMs.p99, f.endToGrantsGoneMs.p99)} |`);
  lines.push(`| every run finished, grants gone | ${fmt(o.allDoneSeconds)} s | ${fmt(f.allDoneSeconds)} s | ${ratio(o.allDoneSeconds, f.allDoneSeconds)} |`);
  lines.push(`| API requests per run | ${fmt(o.requestsTotal / o.runs)} | ${fmt(f.requestsTotal / f.runs)} | ${ratio(o.requestsTotal, f.requestsTotal)} |`);
  lines.push(`| RSS after start (caches synced, no runs) | ${fmt(o.startRssMiB, 0)} MiB | ${fmt(f.startRssMiB, 0)} MiB | ${ratio(o.startRssMiB, f.startRssMiB)} |`);
  lines.push(`| peak RSS | ${fmt(o.peakRssMiB, 0)} MiB | ${fmt(f.peakRssMiB, 0)} MiB | ${ratio(o.peakRssMiB, f.peakRssMiB)} |`);
  lines.push(`| CPU seconds | ${fmt(o.cpuSeconds)} | ${fmt(f.cpuSeconds)} | ${ratio(o.cpuSeconds, f.cpuSeconds)} |`);
  lines.push(`| kube-apiserver + etcd CPU seconds | ${fmt(o.apiServerCpuSeconds + o.etcdCpuSeconds)} | ${fmt(f.apiServerCpuSeconds + f.etcdCpuSeconds)} | ${ratio(o.apiServerCpuSeconds + o.etcdCpuSeconds, f.apiServerCpuSeconds + f.etcdCpuSeconds)} |`);
  lines.push(`| load average (1 min) during the phase, mean / max | ${fmt(o.load.mean)} / ${fmt(o.load.max)} | ${fmt(f.load.mean)} / ${fmt(f.load.max)} | |`);
  lines.push('');
  lines.push('API requests per run, by verb:');
  lines.push('');
  const verbs = [...new Set([...VERBS, ...Object.keys(o.requests), ...Object.keys(f.requests)])].filter((v) => (o.requests[v] ?? 0) + (f.requests[v] ?? 0) > 0);
  lines.push(`| | ${verbs.join(' | ')} |`);
  lines.push(`|---|${verbs.map(() => '---').join('|')}|`);
  lines.push(`| operator | ${verbs.map((v) => fmt((o.requests[v] ?? 0) / o.runs, 2)).join(' | ')} |`);
  lines.push(`| floor | ${verbs.map((v) => fmt((f.requests[v] ?? 0) / f.runs, 2)).join(' | ')} |`);
  lines.push('');
  lines.push(...beforeAfter(report, before));
  lines.push(...metricsCost(report));
  lines.push('### Growth');
  lines.push('');
  const sizes = report.results;
  if (sizes.length >= 2) {
    const a = sizes[0]!;
    const z = sizes[sizes.length - 1]!;
    const factor = z.runs / a.runs;
    lines.push(`From ${a.runs.toLocaleString('en')} to ${z.runs.toLocaleString('en')} runs (${factor}×): the operator's CPU per run goes from ` +
      `${fmt((a.operator.cpuSeconds * 1000) / a.runs, 0)} to ${fmt((z.operator.cpuSeconds * 1000) / z.runs, 0)} ms and its requests per run from ` +
      `${fmt(a.operator.requestsTotal / a.runs)} to ${fmt(z.operator.requestsTotal / z.runs)}; peak RSS grows ${ratio(z.operator.peakRssMiB, a.operator.peakRssMiB)} ` +
      `(${fmt(a.operator.peakRssMiB, 0)} → ${fmt(z.operator.peakRssMiB, 0)} MiB); the time until everything is done grows ` +
      `${ratio(z.operator.allDoneSeconds, a.operator.allDoneSeconds)} (the floor's ${ratio(z.floor.allDoneSeconds, a.floor.allDoneSeconds)}). ` +
      'Create → pod latencies grow with the size of the burst because every run arrives at once and waits for a worker ' +
      '(the floor\'s too): they measure throughput, not the cost of one run. Agent end → grants gone does not grow for the ' +
      'operator, whose queue puts revocations ahead of creations (operator/src/agentrun/priority.ts); the floor\'s queue is ' +
      'first in, first out, so its revocations wait behind the burst.');
    lines.push('');
  }
  lines.push('Operator, then the floor in the same run (times in seconds; "heap in use" is V8\'s at the end of the phase, garbage ' +
    'not yet collected included):');
  lines.push('');
  lines.push('| runs | every pod exists | create → pod p50 / p99 | agent end → grants gone p50 / p99 | all done | requests per run | reconciles per run | peak RSS | heap in use at the end | CPU s | CPU ms per run |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  const s = (ms: number) => fmt(ms / 1000);
  for (const { runs, operator: op, floor: fl } of report.results) {
    for (const [who, p] of [['operator', op], ['floor', fl]] as const) {
      lines.push(`| ${runs.toLocaleString('en')} ${who}${p.complete ? '' : ' (gave up)'} | ${fmt(p.allPodsSeconds)} | ${s(p.createToPodMs.p50)} / ${s(p.createToPodMs.p99)} | ` +
        `${s(p.endToGrantsGoneMs.p50)} / ${s(p.endToGrantsGoneMs.p99)} | ${fmt(p.allDoneSeconds)} | ${fmt(p.requestsTotal / runs)} | ${who === 'operator' ? fmt(p.reconciles / runs) : ''} | ` +
        `${fmt(p.peakRssMiB, 0)} MiB | ${who === 'operator' ? `${fmt(p.heapUsedMiB, 0)} MiB` : ''} | ${fmt(p.cpuSeconds)} | ${fmt((p.cpuSeconds * 1000) / runs, 1)} |`);
    }
  }
  lines.push('');
  lines.push('### Method');
  lines.push('');
  // Reports written before the entry was recorded ran operator/src/main.ts.
  const entry = report.operatorEntry !== 'compiled' ? '`operator/src/main.ts` under Node\'s type stripping'
    : 'the compiled operator (`tsc -p tsconfig.build.json`, `main.js`, as the image runs it)';
  lines.push(`- Per size, two phases on the same control plane, each in a fresh namespace: the operator (${entry} as a child ` +
    `process under its ServiceAccount, \`--concurrency=${report.concurrency}\`, \`--watch-namespaces\` the phase's namespace), then the floor ` +
    '(`test/bench/baseline.ts`, a minimal controller under the same ServiceAccount: it watches AgentRuns and pods and, per run, POSTs the ' +
    'ServiceAccount, ConfigMap, Role, RoleBinding, NetworkPolicy and Pod that the operator\'s own builders render, then DELETEs the ' +
    `RoleBinding, Role, ServiceAccount and NetworkPolicy once the agent has ended: no status, no events, no extra reads, keep-alive ` +
    `connections, ${report.concurrency} runs at once).`);
  lines.push(`- The benchmark creates every AgentRun at once (${CREATE_CONCURRENCY} POSTs in flight), each with one skill whose pack has ` +
    `namespaced RBAC, so each run gets all six objects. A fake kubelet writes each pod Running ${report.kubelet.startAfterMs} ms after it ` +
    `appears and the agent terminated (exit 0, sidecars still running) ${report.kubelet.runForMs} ms later, at most ${report.kubelet.concurrency} writes in flight.`);
  lines.push('- Times are taken in the benchmark process: a run\'s creation when its POST returned, a pod\'s existence when a watch delivered it, ' +
    'the agent\'s end when the status write returned, "grants gone" when watches delivered the deletion of the last of the run\'s ' +
    'ServiceAccount, Role, RoleBinding and NetworkPolicy.');
  lines.push('- Requests are counted by a TLS-terminating proxy on 127.0.0.1 (`test/harness/fault-proxy.ts`) that only the measured process ' +
    'talks through, from the first creation to the end of the phase (start-up lists excluded). The verb is the API server\'s: `apply` is a ' +
    'server-side-apply PATCH, `patch` a merge patch (status, finalizers, pod annotation).');
  lines.push('- RSS after start is `VmRSS` of the measured process once it is ready (the operator\'s `/readyz`: every cache synced; the ' +
    'floor\'s "ready" line; the floor runs from source under type stripping) and a second has passed, before the first run is created. ' +
    'Peak RSS is `VmHWM` and CPU is `utime + stime` from `/proc/<pid>` of the measured process (CPU counted from the first ' +
    'creation); kube-apiserver and etcd CPU likewise. Load is the 1-minute load average, sampled every second.');
  return lines.join('\n');
}

const BEGIN = '<!-- operator-bench:begin (generated by test/bench/operator.ts; edits between these markers are overwritten) -->';
const END = '<!-- operator-bench:end -->';

/** Replaces the generated part of `## Operator` in the file, keeping every other section (and the rest of this one). */
async function writeDoc(path: string, generated: string): Promise<void> {
  const block = `${BEGIN}\n${generated}\n${END}`;
  let text = existsSync(path) ? await readFile(path, 'utf8') : '# Benchmarks\n';
  const b = text.indexOf('<!-- operator-bench:begin');
  const e = text.indexOf(END);
  if (b >= 0 && e > b) {
    text = text.slice(0, b) + block + text.slice(e + END.length);
  } else {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => /^## Operator\s*$/.test(l));
    if (start < 0) {
      text = `${text.replace(/\n*$/, '\n')}\n## Operator\n\n${block}\n`;
    } else {
      lines.splice(start + 1, 0, '', block);
      text = lines.join('\n');
    }
  }
  await writeFile(path, text);
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (flags['from-json']) {
    const report = JSON.parse(await readFile(resolve(repoRoot, flags['from-json']), 'utf8')) as Report;
    const beforePath = resolve(repoRoot, flags.before);
    const before = existsSync(beforePath) ? JSON.parse(await readFile(beforePath, 'utf8')) as Report : undefined;
    const generated = markdown(report, before);
    if (flags.write) await writeDoc(resolve(repoRoot, flags.write), generated);
    else console.log(generated);
    return;
  }
  const machine: Machine = {
    cpus: availableParallelism(), model: cpus()[0]?.model.trim() ?? 'unknown', memoryGiB: totalmem() / 2 ** 30, kernel: release(),
    node: process.versions.node, loadAtStart: loadavg(),
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const dir = await mkdtemp(join(tmpdir(), 'skillpod-bench-'));
  const plane = await ControlPlane.start({ dir, binDir: testbinDir() });
  const watchdog = startWatchdog(process.pid, plane.pidFile);
  const admin = KubeClient.fromKubeconfigFile(plane.kubeconfigPath);
  let proxy: FaultProxy | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    await install(kc, { root: repoRoot, skillPacks: false });
    await admin.json('POST', '/apis/skillpod.io/v1alpha1/skillpacks', { body: {
      apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: PACK },
      spec: { description: 'benchmark pack', image: 'busybox:1.36', tools: [{ name: 'ls', command: ['ls'] }],
        rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } },
    } });
    proxy = await FaultProxy.start({
      upstream: plane.apiServerUrl, ca: readFileSync(plane.certs.caCert), cert: readFileSync(plane.certs.serverCert),
      key: readFileSync(plane.certs.serverKey), keepLog: flags.trace,
    });
    const env: Env = { plane, admin, proxy, dir, token: await operatorToken(admin), operatorEntry: flags.source ? join(repoRoot, 'operator/src/main.ts') : compileOperator() };
    const report: Report = { date: new Date().toISOString().slice(0, 10), machine, concurrency: CONCURRENCY, kubelet: KUBELET,
      operatorEntry: flags.source ? 'source' : 'compiled', results: [] };
    for (const [i, runs] of SIZES.entries()) {
      const operator = await phase(env, 'operator', runs);
      if (flags['operator-only']) continue;
      const floor = await phase(env, 'floor', runs);
      report.results.push({ runs, operator, floor });
      const last = i === SIZES.length - 1;
      if (runs === HEADLINE) {
        report.withoutDomainMetrics = await phase(env, 'operator', runs, { args: ['--domain-metrics=false'], suffix: 'nometrics' });
      }
      await deleteNamespaces(admin, [`bench-op-${runs}`, `bench-floor-${runs}`, ...(runs === HEADLINE ? [`bench-op-${runs}-nometrics`] : [])], last ? 0 : 180_000);
    }
    if (flags['operator-only']) return;
    const beforePath = resolve(repoRoot, flags.before);
    const before = existsSync(beforePath) ? JSON.parse(await readFile(beforePath, 'utf8')) as Report : undefined;
    const generated = markdown(report, before);
    const jsonPath = flags.json ?? join(repoRoot, '.skillpod/bench', `operator-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await mkdir(resolve(jsonPath, '..'), { recursive: true });
    await writeFile(jsonPath, JSON.stringify(report, null, 2));
    log(`results in ${jsonPath}`);
    if (flags.write) {
      await writeDoc(resolve(repoRoot, flags.write), generated);
      log(`wrote ${flags.write}`);
    } else {
      console.log(`\n${generated}\n`);
    }
  } finally {
    await proxy?.stop();
    admin.close();
    await plane.stop();
    if (watchdog) process.kill(watchdog, 'SIGKILL');
    if (process.env.SKILLPOD_KEEP_BENCH_DIR) log(`logs and data kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
