// Revocations jump the queue: a run whose agent ends while many creations wait for the (single) worker has its
// grants revoked next, not after every waiting creation (operator/src/agentrun/priority.ts). Under a first-in,
// first-out queue the revocation would come after all of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, condition, createRun, deletePack, getRun, podOf, setPodStatus } from '../harness/kube.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';

const PACK = 'rp-kubectl';
const WAITING = 40;
let operator: TestOperator;
let ns: string;

beforeAll(async () => {
  ns = await testCluster.createNamespace('rp');
  // One worker, so that creations queue up behind it.
  operator = await startOperator([`--watch-namespaces=${ns}`, '--concurrency=1']);
  await applyPack(PACK, { rbac: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] } });
});

afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  await deletePack(PACK);
});

const queueDepth = () => operator.manager.controllers.find((c) => c.name === 'agentrun')!.queue.depth;

async function runsWithPods(): Promise<number> {
  const list = await clients().custom.listNamespacedCustomObject({ group: 'skillpod.io', version: 'v1alpha1', namespace: ns, plural: 'agentruns' }) as { items: Array<{ status?: { podName?: string } }> };
  return list.items.filter((r) => r.status?.podName).length;
}

describe('a run that ends while creations wait', () => {
  it('has its grants revoked before the waiting creations are done', async () => {
    await createRun(ns, 'ending', { skills: [{ name: PACK }] });
    const pod = await podOf(ns, 'ending');
    await setPodStatus(ns, pod.metadata!.name!, 'Running', { running: { startedAt: new Date() } });
    await eventually(async () => expect((await getRun(ns, 'ending')).status?.phase).toBe('Running'));

    await Promise.all(Array.from({ length: WAITING }, (_, i) => createRun(ns, `waiting-${i}`, { skills: [{ name: PACK }] })));
    await eventually(() => expect(queueDepth()).toBeGreaterThanOrEqual(WAITING / 2), 30_000, 20);
    const depthAtEnd = queueDepth();
    const podsAtEnd = await runsWithPods();
    await setPodStatus(ns, pod.metadata!.name!, 'Running', { terminated: { exitCode: 0, message: 'done', reason: 'Completed' } });

    await eventually(async () => expect(condition(await getRun(ns, 'ending'), 'GrantsRevoked')?.status).toBe('True'), 60_000, 50);
    const podsAtRevocation = await runsWithPods();
    // First in, first out, every run waiting when the agent ended would have had its pod first.
    expect(podsAtRevocation - podsAtEnd, `${depthAtEnd} runs were waiting when the agent ended`).toBeLessThan(depthAtEnd / 2);
    // And the creations still all happen.
    await eventually(async () => expect(await runsWithPods()).toBe(WAITING + 1), 120_000, 500);
  });
});
