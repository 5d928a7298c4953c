// High availability: two operator replicas as separate OS processes (operator/src/main.ts, leader election on,
// each under the operator's ServiceAccount behind its own counting proxy, so every request is attributed to a
// replica). Only the Lease holder writes; SIGKILL it mid-workload and the standby takes over after the lease
// expires; every run finishes as its pod says, and no run ever gets a second pod.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { FaultProxy, type ProxiedRequest } from '../harness/fault-proxy.ts';
import { applyPack, deletePack } from '../harness/kube.ts';
import { installSkillpod } from '../harness/operator.ts';
import {
  createAgentRun, FakeKubelet, grantsLeft, KubeClient, listRuns, OperatorProcess, operatorToken, PodRecorder, writeTokenKubeconfig,
} from '../harness/workload.ts';

const LEASE_SECONDS = 15;
const RETRY_PERIOD_MS = 2000; // the LeaderElector's default; a standby looks every 2-4.4 s (jitter 1.2)
const PACK = 'rs-ha-kubectl';

const admin = KubeClient.fromKubeconfigFile(testCluster.info().kubeconfig);
const lease = `skillpod-ha-${Date.now().toString(36)}`;
let ns: string;
let dir: string;
const proxies: FaultProxy[] = [];
const replicas: OperatorProcess[] = [];
let kubelet: FakeKubelet;
let pods: PodRecorder;

const failing = (name: string) => Number(name.split('-').pop()) % 3 === 2;

beforeAll(async () => {
  await installSkillpod();
  ns = await testCluster.createNamespace('rs-ha');
  dir = await mkdtemp(join(testCluster.info().dir, 'rs-ha-'));
  await applyPack(PACK, { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
  kubelet = new FakeKubelet(admin, ns, {
    startAfterMs: 300, runForMs: 1500,
    end: (run) => (failing(run) ? { exitCode: 1, message: 'failed on purpose', podPhase: 'Failed' } : { exitCode: 0, message: `done ${run.split('/')[1]}`, podPhase: 'Succeeded' }),
  });
  pods = new PodRecorder(admin, ns);
  await Promise.all([kubelet.start(), pods.start()]);
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(proxies.map((p) => p.stop()));
  await kubelet?.stop();
  await pods?.stop();
  await testCluster.deleteNamespace(ns);
  await deletePack(PACK);
  admin.close();
});

async function startReplica(index: number): Promise<{ proc: OperatorProcess; proxy: FaultProxy; identity: string }> {
  const info = testCluster.info();
  const proxy = await FaultProxy.start({
    upstream: info.apiServerUrl, ca: await readFile(info.caCert),
    cert: await readFile(join(info.dir, 'server.crt')), key: await readFile(join(info.dir, 'server.key')),
  });
  proxies.push(proxy);
  const kubeconfig = await writeTokenKubeconfig(join(dir, `kubeconfig-${index}`), proxy.url, info.caCert, await operatorToken(admin));
  const proc = OperatorProcess.start({
    kubeconfig, logFile: join(dir, `operator-${index}.log`),
    args: ['--leader-elect=true', `--leader-election-id=${lease}`, `--lease-duration-seconds=${LEASE_SECONDS}`,
      '--server-bind-address=127.0.0.1:0', '--operator-namespace=skillpod-system', `--watch-namespaces=${ns}`, '--resync-seconds=30'],
  });
  replicas.push(proc);
  return { proc, proxy, identity: await proc.identity() };
}

async function holder(): Promise<string | undefined> {
  const l = await admin.get<{ spec?: { holderIdentity?: string } }>(`/apis/coordination.k8s.io/v1/namespaces/skillpod-system/leases/${lease}`)
    .catch(() => undefined);
  return l?.spec?.holderIdentity || undefined;
}

/** Requests that change anything other than the Lease. */
const writesBeyondLease = (log: ProxiedRequest[]) => log.filter((r) => r.method !== 'GET' && r.parsed.resource !== 'leases');

async function createBatch(prefix: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await Promise.all(names.map((name) => createAgentRun(admin, ns, name, { skills: [{ name: PACK }] })));
  return names;
}

describe('two operator replicas', () => {
  it('only the Lease holder reconciles; after SIGKILL the standby takes over, losing no run and creating no pod twice', async () => {
    const a = await startReplica(0);
    const b = await startReplica(1);
    const leaderId = await eventually(async () => {
      const h = await holder();
      expect([a.identity, b.identity]).toContain(h);
      return h!;
    }, 30_000);
    const [leader, standby] = leaderId === a.identity ? [a, b] : [b, a];

    // Both caches are warm; only the leader acts.
    const first = await createBatch('before', 10);
    await eventually(() => expect(pods.uidsByRun.size).toBe(first.length), 60_000);
    expect(writesBeyondLease(leader.proxy.log).length).toBeGreaterThan(first.length * 5);
    expect(writesBeyondLease(standby.proxy.log)).toEqual([]);
    expect(standby.proxy.log.some((r) => r.verb === 'watch' && r.parsed.resource === 'agentruns')).toBe(true);

    // Kill the leader in the middle of a batch: once it has created the first pod of it, before it is done.
    const during = createBatch('during', 10);
    const podsCreated = () => leader.proxy.log.filter((r) => r.verb === 'create' && r.parsed.resource === 'pods' && r.bodyName?.startsWith('during-')).length;
    await eventually(() => expect(podsCreated()).toBeGreaterThan(0), 30_000, 5);
    const killedAt = performance.now();
    leader.proc.kill('SIGKILL');
    await leader.proc.exited;
    const second = await during;
    const createdBeforeKill = podsCreated();

    const takeover = await eventually(async () => {
      expect(await holder()).toBe(standby.identity);
      return performance.now() - killedAt;
    }, (LEASE_SECONDS + 15) * 1000, 100);
    // As in client-go, the standby waits out the lease duration from when it last saw the Lease change, on its own
    // clock, and looks every 2-4.4 s. It may first see the leader's last renewal on a look just after the kill, and
    // notice the expiry a look later: so it leads within the lease duration plus two looks.
    expect(takeover).toBeLessThan(LEASE_SECONDS * 1000 + 2 * RETRY_PERIOD_MS * 2.2 + 2000);
    // Its log line may trail the Lease write that the test saw.
    await eventually(() => expect(standby.proc.logged('acquired leadership')).toHaveLength(1), 10_000, 100);

    const third = await createBatch('after', 10);
    const all = [...first, ...second, ...third];
    await eventually(async () => {
      const runs = await listRuns(admin, ns);
      const done = runs.filter((r) => r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed');
      expect(done.map((r) => r.metadata.name).sort()).toEqual([...all].sort());
    }, 120_000, 500);

    for (const run of await listRuns(admin, ns)) {
      if (failing(run.metadata.name)) {
        expect(run.status?.phase, run.metadata.name).toBe('Failed');
        expect(run.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('AgentFailed');
      } else {
        expect(run.status, run.metadata.name).toMatchObject({ phase: 'Succeeded', result: `done ${run.metadata.name}` });
      }
    }
    expect(pods.duplicates()).toEqual([]);
    expect(pods.uidsByRun.size).toBe(all.length);
    await eventually(async () => expect(await grantsLeft(admin, ns)).toEqual([]), 30_000);
    console.log(`HA: leader killed after creating ${createdBeforeKill} of ${second.length} pods of a batch; ` +
      `takeover ${(takeover / 1000).toFixed(1)} s after SIGKILL (lease ${LEASE_SECONDS} s); ` +
      `leader sent ${leader.proxy.log.length} requests, standby ${standby.proxy.log.length}`);
  });
});
