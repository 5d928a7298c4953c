// Bad input never stops the operator: random and malformed AgentRuns and SkillPacks are sent to the real API
// server; what it accepts is reconciled; the operator must keep running and keep serving a valid run.
import { CustomObjectsApi } from '@kubernetes/client-node';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, condition, createRun, deletePack, getRun, podOf } from '../harness/kube.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';

const custom = testCluster.kubeConfig().makeApiClient(CustomObjectsApi);
const GROUP = { group: 'skillpod.io', version: 'v1alpha1' };
let operator: TestOperator;
let ns: string;
const packs = new Set<string>();

beforeAll(async () => {
  operator = await startOperator();
  ns = await testCluster.createNamespace('fuzz');
  await applyPack('fuzz-good');
});
afterAll(async () => {
  await operator.stop();
  await testCluster.deleteNamespace(ns);
  for (const name of ['fuzz-good', ...packs]) await deletePack(name);
});

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,70}$/);
const anything = fc.anything({ maxDepth: 3 });
const toolArb = fc.record({
  name: fc.oneof(name, anything),
  command: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anything),
  timeoutSeconds: fc.oneof(fc.integer({ min: -5, max: 5000 }), anything),
  argPolicy: fc.option(fc.record({ deniedFlags: fc.array(fc.string(), { maxLength: 3 }), allowedPatterns: fc.array(fc.constantFrom('(', '^a+$', '[z-a]', '.*'), { maxLength: 2 }) })),
}, { requiredKeys: [] });
const packSpec = fc.record({
  description: fc.oneof(fc.string({ maxLength: 20 }), anything),
  image: fc.oneof(fc.constantFrom('busybox', 'bad image', '', 'registry.local/x:1'), anything),
  tools: fc.oneof(fc.array(toolArb, { maxLength: 3 }), anything),
  rbac: fc.option(fc.record({ rules: fc.array(fc.record({ apiGroups: fc.constant(['']), resources: fc.array(fc.constantFrom('pods', 'secrets', '*'), { maxLength: 2 }), verbs: fc.array(fc.constantFrom('get', '*', 'escalate'), { maxLength: 2 }) }), { maxLength: 2 }) })),
}, { requiredKeys: [] });
const runSpec = fc.record({
  task: fc.oneof(fc.string({ maxLength: 30 }), anything),
  timeoutSeconds: fc.oneof(fc.integer({ min: -10, max: 100_000 }), anything),
  skills: fc.oneof(fc.array(fc.record({ name: fc.oneof(fc.constantFrom('fuzz-good', 'fuzz-missing'), name), enabled: fc.oneof(fc.boolean(), anything) }), { maxLength: 3 }), anything),
  agent: fc.option(fc.record({ image: fc.oneof(fc.constant('agent:1'), anything), env: fc.oneof(fc.array(fc.record({ name: fc.string(), value: fc.string() }), { maxLength: 2 }), anything) }, { requiredKeys: [] })),
  podLabels: fc.option(fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 10 }), { maxKeys: 2 })),
}, { requiredKeys: [] });

it('keeps reconciling valid runs while fed random runs and packs', async () => {
  let accepted = 0;
  let refused = 0;
  await fc.assert(fc.asyncProperty(fc.nat(), packSpec, runSpec, async (i, pack, run) => {
    const packName = `fuzz-${i % 1000}-${packs.size}`;
    packs.add(packName);
    for (const create of [
      () => custom.createClusterCustomObject({ ...GROUP, plural: 'skillpacks', body: { apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name: packName }, spec: pack } }),
      () => custom.createNamespacedCustomObject({ ...GROUP, plural: 'agentruns', namespace: ns, body: { apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun', metadata: { generateName: 'fuzz-' }, spec: run } }),
    ]) {
      try {
        await create();
        accepted += 1;
      } catch {
        refused += 1; // the API server's schema and CEL rules said no, with a message: that is the point
      }
    }
  }), {
    numRuns: 60,
    // Random input is nearly always refused by the schema; one valid pair makes sure acceptance is exercised too.
    examples: [[0, { description: 'valid', image: 'busybox', tools: [{ name: 'ls', command: ['ls'] }] },
      { task: 'valid', agent: { image: 'agent:1' }, skills: [{ name: 'fuzz-good', enabled: true }] }]],
  });
  expect(refused).toBeGreaterThan(0);
  expect(accepted).toBeGreaterThan(0);

  // The operator is alive and still serves a valid run end to end.
  expect(operator.manager.synced).toBe(true);
  await createRun(ns, 'valid-after-fuzz', { skills: [{ name: 'fuzz-good' }] });
  const pod = await podOf(ns, 'valid-after-fuzz');
  expect(pod.metadata?.name).toBeTruthy();
  await eventually(async () => expect(condition(await getRun(ns, 'valid-after-fuzz'), 'SkillPacksReady')?.status).toBe('True'));
  expect((await fetch(`${operator.url}/healthz`)).status).toBe(200);
});

it('says on the run why the API server refuses its pod (a ResourceQuota), and creates it once the quota allows', async () => {
  const { core } = clients();
  const quotaNs = await testCluster.createNamespace('quota');
  try {
    await core.createNamespacedResourceQuota({ namespace: quotaNs, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
    // Quota admission works from the status that kube-controller-manager's resource-quota controller writes.
    await eventually(async () => expect((await core.readNamespacedResourceQuota({ namespace: quotaNs, name: 'no-pods' })).status?.hard).toEqual({ pods: '0' }));
    await createRun(quotaNs, 'blocked', { skills: [{ name: 'fuzz-good' }] });
    const refused = await eventually(async () => {
      const ready = condition(await getRun(quotaNs, 'blocked'), 'Ready');
      expect(ready?.reason).toBe('PodRefused');
      return ready!;
    }, 60_000);
    expect(refused.status).toBe('False');
    expect(refused.message).toMatch(/^the API server refused the run's pod: pods "blocked-[0-9a-f]{12}" is forbidden: exceeded quota: no-pods/);
    // A refused pod is never recorded: the run names no pod and says nothing of one.
    await eventually(async () => {
      const blocked = await getRun(quotaNs, 'blocked');
      expect(condition(blocked, 'Ready')?.reason).toBe('PodRefused');
      expect(blocked.status?.podName).toBeUndefined();
      expect(blocked.status?.startTime).toBeUndefined();
      expect(condition(blocked, 'SkillsInPod')).toBeUndefined();
    });
    const events = await core.listNamespacedEvent({ namespace: quotaNs, fieldSelector: 'involvedObject.name=blocked,reason=PodRefused' });
    expect(events.items.length).toBeGreaterThan(0);
    expect(operator.manager.controllers.every((c) => c.started)).toBe(true);

    // A run that times out while refused keeps the why in its final condition.
    await createRun(quotaNs, 'refused-then-late', { skills: [{ name: 'fuzz-good' }], timeoutSeconds: 3 });
    await eventually(async () => {
      const ended = condition(await getRun(quotaNs, 'refused-then-late'), 'Succeeded');
      expect(ended).toMatchObject({ status: 'False', reason: 'Timeout' });
      expect(ended?.message).toMatch(/^the run did not finish within 3s; before that, PodRefused: the API server refused the run's pod: .*exceeded quota: no-pods/);
    }, 30_000);

    await core.deleteNamespacedResourceQuota({ namespace: quotaNs, name: 'no-pods' });
    await podOf(quotaNs, 'blocked');
    await eventually(async () => expect(condition(await getRun(quotaNs, 'blocked'), 'Ready')?.reason).not.toBe('PodRefused'));
  } finally {
    await testCluster.deleteNamespace(quotaNs);
  }
});
