// The operator's domain and client metrics on the real control plane: after a handful of runs (one succeeds after a
// skill is switched off and on, one fails, one is refused its pod by a quota and times out), a scrape of /metrics
// shows each metric with the expected counts and buckets. The operator watches only this file's namespaces, so
// other files' runs do not count.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../harness/context.ts';
import { eventually } from '../harness/eventually.ts';
import { applyPack, clients, condition, createRun, deletePack, getRun, patchRun, podOf, setPodStatus } from '../harness/kube.ts';
import { startOperator, type TestOperator } from '../harness/operator.ts';
import { kubeEventRecorder } from '../../operator/src/events.ts';
import { DEFAULT_GRANT_POLICY } from '../../operator/src/policy/grant-policy.ts';
import { silentLogger } from '../../operator/src/runtime/logger.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir, helmOk } from './chart-support.ts';
import { families, promqlMetricNames, scrape, value } from './metrics-support.ts';

const { core } = clients();
let operator: TestOperator;
let ns: string;
let quotaNs: string;

const READ_PODS = { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] };
const running = { running: { startedAt: new Date() } };
const exited = (exitCode: number, message: string) => ({ terminated: { exitCode, message, reason: exitCode ? 'Error' : 'Completed', finishedAt: new Date() } });

beforeAll(async () => {
  ns = await testCluster.createNamespace('metrics');
  quotaNs = await testCluster.createNamespace('metrics-quota');
  await core.createNamespacedResourceQuota({ namespace: quotaNs, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
  await eventually(async () => expect((await core.readNamespacedResourceQuota({ namespace: quotaNs, name: 'no-pods' })).status?.hard).toEqual({ pods: '0' }), 60_000);
  // The operator judges packs by a policy narrower than the installed one (the admission policy lets the pack in,
  // the operator finds it outside its policy): one pack Ready=False, OutsideGrantPolicy.
  // With leader election and a (generous) client-side limit, so that leader_election_master_status and
  // rest_client_rate_limiter_duration_seconds are there for the dashboard and rules check.
  operator = await startOperator(['--watch-namespaces', `${ns},${quotaNs}`, '--leader-elect', 'true', '--leader-election-id', 'skillpod-metrics-test',
    '--api-qps', '1000', '--api-burst', '1000'], {
    grantPolicy: () => ({ ...DEFAULT_GRANT_POLICY, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] }),
  });
  await applyPack('metrics-kubectl', { rbac: READ_PODS });
  await applyPack('metrics-fetch', { egress: [{ ports: [{ protocol: 'TCP', port: 443 }] }] });
  await applyPack('metrics-services', { rbac: { rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get'] }] } });
});
afterAll(async () => {
  await operator?.stop();
  await testCluster.deleteNamespace(ns);
  await testCluster.deleteNamespace(quotaNs);
  for (const p of ['metrics-kubectl', 'metrics-fetch', 'metrics-services']) await deletePack(p);
});

describe('/metrics after a handful of runs', () => {
  it('counts runs, durations, pods, grants, switches and refusals', async () => {
    const { samples: before } = await scrape(operator.url);
    expect(value(before, 'skillpod_agentruns', { phase: 'Pending' })).toBe(0);
    expect(value(before, 'skillpod_agentrun_pod_refusals_total')).toBe(0);

    // A run that succeeds, with a skill switched off and on again while it runs.
    await createRun(ns, 'ok', { skills: [{ name: 'metrics-kubectl' }, { name: 'metrics-fetch' }] });
    const okPod = (await podOf(ns, 'ok')).metadata!.name!;
    await setPodStatus(ns, okPod, 'Running', running);
    await eventually(async () => expect(condition(await getRun(ns, 'ok'), 'Ready')?.status).toBe('True'));
    // Alive while it runs: one ServiceAccount, a Role (the kubectl skill's rules), egress (the fetch skill's).
    await eventually(async () => {
      const { samples } = await scrape(operator.url);
      expect(value(samples, 'skillpod_agentruns', { phase: 'Running' })).toBe(1);
      expect(Object.fromEntries(['serviceaccount', 'role', 'clusterrole', 'egress'].map((kind) => [kind, value(samples, 'skillpod_agentrun_grants', { kind })])))
        .toEqual({ serviceaccount: 1, role: 1, clusterrole: 0, egress: 1 });
    });
    await patchRun(ns, 'ok', [{ op: 'replace', path: '/spec/skills/0/enabled', value: false }]);
    await eventually(async () => expect((await getRun(ns, 'ok')).status?.skills?.[0]).toMatchObject({ enabled: false, rbac: 'Revoked' }));
    await eventually(async () => expect(value((await scrape(operator.url)).samples, 'skillpod_agentrun_grants', { kind: 'role' })).toBe(0));
    await patchRun(ns, 'ok', [{ op: 'replace', path: '/spec/skills/0/enabled', value: true }]);
    await eventually(async () => expect((await getRun(ns, 'ok')).status?.skills?.[0]).toMatchObject({ enabled: true, rbac: 'Granted' }));
    await setPodStatus(ns, okPod, 'Running', exited(0, 'done'));

    // A run whose agent fails.
    await createRun(ns, 'bad', { skills: [{ name: 'metrics-fetch' }] });
    const badPod = (await podOf(ns, 'bad')).metadata!.name!;
    await setPodStatus(ns, badPod, 'Running', running);
    await eventually(async () => expect((await getRun(ns, 'bad')).status?.phase).toBe('Running'));
    await setPodStatus(ns, badPod, 'Failed', exited(1, 'no'));

    // A run the quota refuses its pod, until its deadline.
    await createRun(quotaNs, 'refused', { skills: [{ name: 'metrics-fetch' }], timeoutSeconds: 3 });

    for (const [namespace, name, phase] of [[ns, 'ok', 'Succeeded'], [ns, 'bad', 'Failed'], [quotaNs, 'refused', 'Failed']] as const) {
      await eventually(async () => {
        const r = await getRun(namespace, name);
        expect(r.status?.phase).toBe(phase);
        expect(condition(r, 'GrantsRevoked')?.status).toBe('True');
      }, 30_000);
    }

    const { samples, text } = await eventually(async () => {
      const s = await scrape(operator.url);
      expect(value(s.samples, 'skillpod_agentrun_grants_revocation_seconds_count')).toBe(3);
      return s;
    });
    // Runs by phase.
    expect(Object.fromEntries(['Pending', 'Running', 'Succeeded', 'Failed'].map((phase) => [phase, value(samples, 'skillpod_agentruns', { phase })])))
      .toEqual({ Pending: 0, Running: 0, Succeeded: 1, Failed: 2 });
    // Durations by outcome and reason.
    const duration = (outcome: string, reason: string) => value(samples, 'skillpod_agentrun_duration_seconds_count', { outcome, reason });
    expect(duration('succeeded', 'AgentSucceeded')).toBe(1);
    expect(duration('failed', 'AgentFailed')).toBe(1);
    expect(duration('failed', 'Timeout')).toBe(1);
    expect(value(samples, 'skillpod_agentrun_duration_seconds_count')).toBe(3);
    // The refused run timed out after 3 s: at least that long (creation and completion are whole seconds).
    expect(value(samples, 'skillpod_agentrun_duration_seconds_bucket', { outcome: 'failed', reason: 'Timeout', le: '1' })).toBe(0);
    // Create → pod: the two runs that got one, each within seconds.
    expect(value(samples, 'skillpod_agentrun_pod_creation_seconds_count')).toBe(2);
    expect(value(samples, 'skillpod_agentrun_pod_creation_seconds_bucket', { le: '10' })).toBe(2);
    // Agent end → grants gone: every run, each well within 5 s.
    expect(value(samples, 'skillpod_agentrun_grants_revocation_seconds_bucket', { le: '5' })).toBe(3);
    expect(value(samples, 'skillpod_agentrun_grants_revocation_seconds_bucket', { le: '+Inf' })).toBe(3);
    // Nothing granted any more.
    expect(value(samples, 'skillpod_agentrun_grants')).toBe(0);
    // One switch off and one on.
    expect(value(samples, 'skillpod_agentrun_skill_switches_total', { direction: 'off' })).toBe(1);
    expect(value(samples, 'skillpod_agentrun_skill_switches_total', { direction: 'on' })).toBe(1);
    // One refused pod (however often the reconcile retried it).
    expect(value(samples, 'skillpod_agentrun_pod_refusals_total')).toBe(1);
    // SkillPacks by readiness (packs are cluster-wide: other files' count too).
    expect(value(samples, 'skillpod_skillpacks', { ready: 'True', reason: 'Valid' })).toBeGreaterThanOrEqual(2);
    expect(value(samples, 'skillpod_skillpacks', { ready: 'False', reason: 'OutsideGrantPolicy' })).toBeGreaterThanOrEqual(1);

    // Client metrics as client-go names them: the pods created (201), the pod the quota refused (403), latencies.
    const host = new URL(testCluster.info().apiServerUrl).host;
    expect(value(samples, 'rest_client_requests_total', { code: '201', method: 'POST', host })).toBeGreaterThanOrEqual(2);
    expect(value(samples, 'rest_client_requests_total', { code: '403', method: 'POST', host })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'rest_client_requests_total', { code: '200', method: 'GET', host })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'rest_client_request_duration_seconds_count', { verb: 'PATCH', host })).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE rest_client_request_duration_seconds histogram');
    // No run name anywhere in a label, and no namespace label by default.
    expect(samples.filter((s) => s.name.startsWith('skillpod_agentrun')).flatMap((s) => Object.keys(s.labels))).not.toContain('namespace');
    expect(text).not.toMatch(/"(ok|bad|refused)"/);
  });
});

describe('Events', () => {
  it('aggregate: the same event again is one Event with a count, under the operator\'s own RBAC and bounds', async () => {
    const target = await getRun(ns, 'ok');
    const recorder = kubeEventRecorder(operator.manager.http, silentLogger);
    for (let i = 0; i < 5; i++) recorder.record(target, 'Warning', 'Repeated', 'the same thing again');
    await eventually(async () => {
      const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=ok,reason=Repeated' });
      expect(list.items).toHaveLength(1);
      expect(list.items[0]).toMatchObject({ count: 5, message: 'the same thing again', type: 'Warning' });
    });
  });

  it('a run the API server keeps refusing is retried without one Event per retry', async () => {
    const retries = async () => value((await scrape(operator.url)).samples, 'workqueue_retries_total', { controller: 'agentrun' });
    const start = await retries();
    await createRun(quotaNs, 'retrying', { skills: [{ name: 'metrics-fetch' }] });
    await eventually(async () => expect(condition(await getRun(quotaNs, 'retrying'), 'Ready')?.reason).toBe('PodRefused'), 30_000);
    // The reconcile fails and is retried with backoff (5 ms doubling): several times within seconds.
    await eventually(async () => expect(await retries()).toBeGreaterThanOrEqual(start + 4), 30_000);
    const list = await core.listNamespacedEvent({ namespace: quotaNs, fieldSelector: 'involvedObject.name=retrying,reason=PodRefused' });
    expect(list.items).toHaveLength(1);
  });
});

describe('the chart\'s dashboard and alerts', () => {
  it('name only metrics the operator exports (checked against a real scrape)', async () => {
    // After the runs above every histogram and labelled series has samples.
    const { text, samples } = await scrape(operator.url);
    const exported = new Set([...families(text), ...samples.map((s) => s.name)]);
    const rendered = await helmOk(['template', 'skillpod', chartDir, '--namespace', 'skillpod-system',
      '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true']);
    const objects = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: unknown; data?: Record<string, string> });
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    const dashboards = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'skillpod-dashboards');
    const rules = (rule?.spec as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['SkillpodNoLeader', 'SkillpodReconcileErrors', 'SkillpodWorkQueueDepthHigh',
      'SkillpodWorkQueueLatencyHigh', 'SkillpodGrantsOutliveAgents', 'SkillpodRunsStuckPending', 'SkillpodInformerNotSynced']));
    const queries = [
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...Object.entries(dashboards?.data ?? {}).flatMap(([file, json]) => {
        const dashboard = JSON.parse(json) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }>; templating: { list: Array<{ name: string; definition?: string }> } };
        return [
          ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${file} panel ${p.title}`, expr: t.expr }))),
          ...dashboard.templating.list.filter((v) => v.definition).map((v) => ({ where: `${file} variable ${v.name}`, expr: v.definition!.replace(/^label_values\((.*),[^,]*\)$/, '$1') })),
        ];
      }),
    ];
    expect(queries.length).toBeGreaterThan(30);
    // The same files as on disk (the ConfigMap carries the JSON unchanged).
    expect(dashboards?.data?.['skillpod.json']).toBe((await readFile(join(chartDir, 'files/dashboards/skillpod.json'), 'utf8')).trimEnd());
    const missing = queries.flatMap(({ where, expr }) => promqlMetricNames(expr).filter((n) => !exported.has(n)).map((n) => `${where}: ${n}`));
    expect(missing).toEqual([]);
    // And the check is not vacuous: every metric family of the domain shows up somewhere.
    const named = new Set(queries.flatMap((q) => promqlMetricNames(q.expr)).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
    for (const family of [...families(text)].filter((f) => f.startsWith('skillpod_agentrun') || f === 'skillpod_skillpacks')) expect(named).toContain(family);
  });
});
