// Crashes: the operator, a separate OS process, is SIGKILLed at random moments while at least 200 runs go through
// their lives (this test plays the kubelet), and restarted each time. Every run must end in the state its pod
// dictates, no run may ever get a second pod, and no run-scoped grant (ServiceAccount, Role, RoleBinding,
// ClusterRole, ClusterRoleBinding, NetworkPolicy) or finalizer may be left behind.
// SKILLPOD_CRASH_RUNS and SKILLPOD_CRASH_SEED change the size and the random moments (the seed is printed).
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { install } from '../../operator/src/install/apply.ts';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, deletePack } from '../harness/kube.ts';
import { installSkillpod, repoRoot } from '../harness/operator.ts';
import {
  createAgentRun, FakeKubelet, grantsLeft, KubeClient, listRuns, mapLimit, OperatorProcess, operatorToken, PodRecorder,
  writeTokenKubeconfig, type AgentEnd,
} from '../harness/workload.ts';

const RUNS = Number(process.env.SKILLPOD_CRASH_RUNS ?? 200);
const SEED = Number(process.env.SKILLPOD_CRASH_SEED ?? Date.now() % 100_000);
const MAX_KILLS = 12;
const CLUSTER_RULES = [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }];
const PACKS = { read: 'rs-crash-read', net: 'rs-crash-net', cluster: 'rs-crash-cluster' };
/** The grant policy key that allows CLUSTER_RULES (helm/skillpod/files/grant-policy.yaml). */
const POLICY_KEY = 'cluster_nodes';
const POLICY_PATH = '/api/v1/namespaces/skillpod-system/configmaps/skillpod-grant-policy';

/** mulberry32: the kill moments and the kubelet's timings are reproducible from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);

const admin = KubeClient.fromKubeconfigFile(testCluster.info().kubeconfig);
let ns: string;
let dir: string;
let kubeconfig: string;
let kubelet: FakeKubelet;
let pods: PodRecorder;
const processes: OperatorProcess[] = [];

const index = (run: string) => Number(run.split('-').pop());
const skillsOf = (i: number) => [[PACKS.read], [PACKS.net], [PACKS.cluster, PACKS.read], [PACKS.read, PACKS.net]][i % 4]!.map((name) => ({ name }));
/** How each run's agent ends: a fifth fail, a fifth succeed while the sidecars linger (pod still Running). */
function endOf(i: number, name: string): AgentEnd {
  if (i % 5 === 3) return { exitCode: 2, message: `${name} failed`, podPhase: 'Failed' };
  if (i % 5 === 4) return { exitCode: 0, message: `${name} done`, podPhase: 'Running' };
  return { exitCode: 0, message: `${name} done`, podPhase: 'Succeeded' };
}

beforeAll(async () => {
  await installSkillpod();
  ns = await testCluster.createNamespace('rs-crash');
  dir = await mkdtemp(join(testCluster.info().dir, 'rs-crash-'));
  // A grant policy that allows the cluster rule, installed: install renders from it the SkillPack admission policy
  // and the operator's grantable ClusterRole; the operator reads it from the ConfigMap.
  await admin.json('PATCH', POLICY_PATH, { contentType: 'application/merge-patch+json', body: { data: { [POLICY_KEY]: 'list' } } });
  await install(testCluster.kubeConfig(), { root: repoRoot, skillPacks: false });
  await applyPack(PACKS.read, { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
  await applyPack(PACKS.net, { egress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] });
  // The admission policy just re-rendered reaches the API server's policy cache a moment later.
  await eventually(() => applyPack(PACKS.cluster, { rbac: { clusterRules: CLUSTER_RULES } }), 30_000, 500);
  const info = testCluster.info();
  kubeconfig = await writeTokenKubeconfig(join(dir, 'kubeconfig'), info.apiServerUrl, info.caCert, await operatorToken(admin));
  kubelet = new FakeKubelet(admin, ns, {
    startAfterMs: () => between(100, 2000), runForMs: () => between(300, 4000), concurrency: 8,
    end: (run) => { const name = run.split('/')[1]!; return endOf(index(name), name); },
  });
  pods = new PodRecorder(admin, ns);
  await Promise.all([kubelet.start(), pods.start()]);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await kubelet?.stop();
  await pods?.stop();
  await testCluster.deleteNamespace(ns);
  for (const p of Object.values(PACKS)) await deletePack(p);
  await admin.json('PATCH', POLICY_PATH, { contentType: 'application/merge-patch+json', body: { data: { [POLICY_KEY]: null } } });
  await install(testCluster.kubeConfig(), { root: repoRoot, skillPacks: false });
  admin.close();
});

function startOperator(): OperatorProcess {
  const proc = OperatorProcess.start({
    kubeconfig, logFile: join(dir, 'operator.log'),
    args: ['--server-bind-address=127.0.0.1:0', `--watch-namespaces=${ns}`, '--resync-seconds=30', '--log-level=warn'],
  });
  processes.push(proc);
  return proc;
}

const terminal = (phase: string | undefined) => phase === 'Succeeded' || phase === 'Failed';

describe('the operator killed at random moments', () => {
  it(`brings ${RUNS} runs to their right end, one pod each, with no grant left`, { timeout: 400_000 }, async () => {
    console.log(`crash test: ${RUNS} runs, seed ${SEED} (SKILLPOD_CRASH_SEED=${SEED} repeats the kill moments)`);
    const started = performance.now();
    let operator = startOperator();
    // The runs arrive over a few seconds, so that kills land in every stage of a run's life.
    const names = Array.from({ length: RUNS }, (_, i) => `run-${i}`);
    const creating = mapLimit(names, 10, async (name, i) => {
      await sleep(i * 25);
      await createAgentRun(admin, ns, name, { skills: skillsOf(i) });
    });

    const kills: Array<{ at: number; unfinished: number }> = [];
    while (kills.length < MAX_KILLS && performance.now() - started < 150_000) {
      await sleep(between(1500, 6000));
      const unfinished = (await listRuns(admin, ns)).filter((r) => !terminal(r.status?.phase)).length;
      if (unfinished === 0 && kills.length >= 3) break;
      operator.kill('SIGKILL');
      await operator.exited;
      kills.push({ at: (performance.now() - started) / 1000, unfinished });
      await sleep(between(0, 500));
      operator = startOperator();
    }
    await creating;

    await eventually(async () => {
      const runs = await listRuns(admin, ns);
      expect(runs.filter((r) => terminal(r.status?.phase))).toHaveLength(RUNS);
    }, 180_000, 1000);
    const finishedAt = (performance.now() - started) / 1000;

    const wrong: string[] = [];
    for (const run of await listRuns(admin, ns)) {
      const name = run.metadata.name;
      const end = endOf(index(name), name);
      const succeeded = run.status?.conditions?.find((c) => c.type === 'Succeeded');
      const ok = end.exitCode === 0
        ? run.status?.phase === 'Succeeded' && run.status.result === end.message
        : run.status?.phase === 'Failed' && succeeded?.reason === 'AgentFailed' && run.status.result === end.message;
      const revoked = run.status?.conditions?.some((c) => c.type === 'GrantsRevoked' && c.status === 'True');
      if (!ok || !revoked || (run.metadata.finalizers ?? []).length > 0) {
        wrong.push(`${name}: ${run.status?.phase} ${succeeded?.reason} ${run.status?.result} revoked=${revoked} finalizers=${run.metadata.finalizers?.join()}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(pods.duplicates()).toEqual([]);
    expect(pods.uidsByRun.size).toBe(RUNS);
    expect(await grantsLeft(admin, ns)).toEqual([]);
    expect(kills.length).toBeGreaterThanOrEqual(3);
    console.log(`crash test: ${kills.length} SIGKILLs at ${kills.map((k) => `${k.at.toFixed(1)}s (${k.unfinished} unfinished)`).join(', ')}; ` +
      `all ${RUNS} runs finished after ${finishedAt.toFixed(0)} s`);
  });
});
