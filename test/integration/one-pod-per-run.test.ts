// At most one pod per run, ever, even when the operator's cache is behind: the operator (a separate OS process under
// its ServiceAccount, through a proxy on loopback) has a run in its cache that names no pod, while the API server's
// copy already names one that is gone (another operator's, or this one's before a restart). Before a pod's creation
// the operator reads the run from the API server (agentrun/act.ts), finds the pod recorded and creates none; once
// its cache catches up, the run fails as PodLost. Without that read the frozen cache would create a second pod.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { applyPack, deletePack } from '../harness/kube.ts';
import { installSkillpod } from '../harness/operator.ts';
import { freePort } from '../harness/ports.ts';
import { createAgentRun, KubeClient, OperatorProcess, operatorToken, writeTokenKubeconfig } from '../harness/workload.ts';

const PACK = 'oppr-late-pack';
const admin = KubeClient.fromKubeconfigFile(testCluster.info().kubeconfig);
const cleanups: Array<() => Promise<void>> = [];

interface Run {
  metadata: { resourceVersion: string };
  status?: { phase?: string; podName?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

beforeAll(async () => {
  await installSkillpod();
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await deletePack(PACK).catch(() => undefined);
  admin.close();
});

it('creates no pod for a run whose cached copy is behind one that names a pod', async () => {
  const info = testCluster.info();
  const ns = await testCluster.createNamespace('oppr');
  cleanups.push(() => testCluster.deleteNamespace(ns));
  const proxy = await FaultProxy.start({
    upstream: info.apiServerUrl, ca: await readFile(info.caCert),
    cert: await readFile(join(info.dir, 'server.crt')), key: await readFile(join(info.dir, 'server.key')),
  });
  cleanups.push(() => proxy.stop());
  const dir = await mkdtemp(join(info.dir, 'oppr-'));
  const kubeconfig = await writeTokenKubeconfig(join(dir, 'kubeconfig'), proxy.url, info.caCert, await operatorToken(admin));
  const port = await freePort();
  const operator = OperatorProcess.start({
    kubeconfig, logFile: join(dir, 'operator.log'),
    args: [`--server-bind-address=127.0.0.1:${port}`, `--watch-namespaces=${ns}`, '--resync-seconds=300'],
  });
  cleanups.push(() => operator.stop());
  await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), 30_000);

  // A run that waits for its pack: in the operator's cache, it names no pod.
  const runPath = `/apis/skillpod.io/v1alpha1/namespaces/${ns}/agentruns/stale`;
  await createAgentRun(admin, ns, 'stale', { skills: [{ name: PACK }] });
  const waiting = await eventually(async () => {
    const run = await admin.get<Run>(runPath);
    expect(run.status?.conditions?.find((c) => c.type === 'SkillPacksReady')?.status).toBe('False');
    return run;
  }, 30_000);
  // The operator's cache holds that version (the proxy saw the watch deliver nothing newer it wrote itself).
  await sleep(1000);

  // Its cache of runs stops there: every run watch and list fails until the end of the test's middle part.
  proxy.setFault((r) => (r.parsed.resource === 'agentruns' && r.method === 'GET' && r.parsed.name === undefined ? { status: 500, message: 'held' } : undefined));
  proxy.dropStreams();
  // The API server's copy names a pod that no longer exists.
  await admin.json('PATCH', `${runPath}/status`, {
    body: { status: { podName: 'stale-recorded-before' } }, contentType: 'application/merge-patch+json',
  });
  expect((await admin.get<Run>(runPath)).metadata.resourceVersion).not.toBe(waiting.metadata.resourceVersion);

  // The pack appears: its watch (not held) wakes the run, which the stale cache says is ready for its pod.
  proxy.resetCounts();
  await applyPack(PACK, {});
  const freshReads = () => proxy.log.filter((r) => r.parsed.resource === 'agentruns' && r.parsed.name === 'stale' && r.method === 'GET');
  await eventually(() => expect(freshReads().length).toBeGreaterThan(0), 30_000);
  await sleep(2000);
  const pods = async () => (await admin.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/pods`)).items.length;
  expect(await pods()).toBe(0);
  expect(proxy.log.filter((r) => r.parsed.resource === 'pods' && r.method === 'POST')).toEqual([]);

  // The cache catches up: the recorded pod is gone, so the run fails, and still no pod was ever made.
  proxy.setFault(undefined);
  proxy.dropStreams();
  const failed = await eventually(async () => {
    const run = await admin.get<Run>(runPath);
    expect(run.status?.phase).toBe('Failed');
    return run;
  }, 60_000);
  expect(failed.status?.conditions?.find((c) => c.type === 'Succeeded')).toMatchObject({ status: 'False', reason: 'PodLost' });
  expect(await pods()).toBe(0);
});
