// decide() as a table of situations: the observed world in, the intent out. Pure: no API server, no clock.
import { describe, expect, it } from 'vitest';
import type { AgentRun, AgentRunStatus, SkillPack } from '../../api/index.ts';
import { ANNOTATION_DISABLED_SKILLS, ANNOTATION_GRANTS, packGrant, renderGrantSnapshot } from '../../builders/index.ts';
import { loadSettings } from '../../config/settings.ts';
import { DEFAULT_GRANT_POLICY } from '../../policy/grant-policy.ts';
import type { KubeObject } from '../../runtime/index.ts';
import { podForCache, runForCache, type ContainerStatusView, type PodView } from '../views.ts';
import { decide, FINALIZER, type Intent, type PackView } from './index.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const CREATED = '2026-03-01T11:59:00Z';
const settings = { ...loadSettings([], {}), defaultAgentImage: 'agent:1', podRetention: 'keep' as 'keep' | 'delete' };

function run(overrides: { skills?: Array<{ name: string; enabled: boolean }>; status?: AgentRunStatus; ttl?: number; timeout?: number; finalizers?: string[]; deleting?: boolean } = {}): AgentRun {
  return {
    apiVersion: 'skillpod.io/v1alpha1', kind: 'AgentRun',
    metadata: { name: 'fix-it', namespace: 'team-a', uid: '0123abcd-0000-0000-0000-000000000000', generation: 2, creationTimestamp: CREATED, resourceVersion: '7',
      ...(overrides.finalizers ? { finalizers: overrides.finalizers } : {}), ...(overrides.deleting ? { deletionTimestamp: NOW.toISOString() } : {}) },
    spec: { task: 'fix it', timeoutSeconds: overrides.timeout ?? 600, skills: overrides.skills ?? [{ name: 'kubectl', enabled: true }, { name: 'fetch', enabled: true }],
      ...(overrides.ttl !== undefined ? { ttlSecondsAfterFinished: overrides.ttl } : {}) },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

function pack(name: string, rbac: 'none' | 'namespaced' | 'cluster'): SkillPack {
  const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }];
  return { apiVersion: 'skillpod.io/v1alpha1', kind: 'SkillPack', metadata: { name },
    spec: { description: name, image: 'img', startupTimeoutSeconds: 30, tools: [{ name: 't', command: ['t'], timeoutSeconds: 60 }],
      ...(rbac === 'namespaced' ? { rbac: { rules } } : rbac === 'cluster' ? { rbac: { clusterRules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] } } : {}) } };
}

const READY: Map<string, PackView> = new Map([
  ['kubectl', { pack: pack('kubectl', 'namespaced'), ready: true, reason: 'Valid', message: '' }],
  ['fetch', { pack: pack('fetch', 'none'), ready: true, reason: 'Valid', message: '' }],
]);
const ORIGINAL = new Map([['kubectl', pack('kubectl', 'namespaced')], ['fetch', pack('fetch', 'none')]]);

type Status = Partial<ContainerStatusView> & { state?: Record<string, unknown> };
function sidecar(name: string, ready: boolean, extra: Status = {}): Status {
  return { name: `skill-${name}`, ready, started: ready, restartCount: 0, ...extra };
}

/** The pod as the API server has it (its grant snapshot names the skills it was created with), as the cache keeps it. */
function pod(phase: string, agent: Status | undefined, sidecars: Status[] = [sidecar('kubectl', true), sidecar('fetch', true)], skills = ['kubectl', 'fetch'],
  change: (p: { metadata: Record<string, unknown>; status: Record<string, unknown> }) => void = () => {}): PodView {
  const snapshot = { version: 1 as const, packs: Object.fromEntries(skills.map((name) => [name, packGrant(ORIGINAL.get(name)!)])) };
  const raw = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'fix-it-0123abcd0000', namespace: 'team-a', annotations: { [ANNOTATION_GRANTS]: renderGrantSnapshot(snapshot), [ANNOTATION_DISABLED_SKILLS]: '' } } as Record<string, unknown>,
    status: { phase, initContainerStatuses: sidecars, containerStatuses: agent ? [{ name: 'agent', ready: true, restartCount: 0, ...agent }] : [] } as Record<string, unknown>,
  };
  change(raw);
  return podForCache(raw);
}

const running = { state: { running: { startedAt: CREATED } } };
const exited = (exitCode: number, message = '') => ({ state: { terminated: { exitCode, message, reason: exitCode === 0 ? 'Completed' : 'Error' } } });
const started = (phase: AgentRunStatus['phase'], extra: Partial<AgentRunStatus> = {}): AgentRunStatus =>
  ({ phase, podName: 'fix-it-0123abcd0000', startTime: CREATED, ...extra });

interface Situation { run?: AgentRun; packs?: Map<string, PackView>; pod?: PodView | undefined; podLost?: boolean; podRetention?: 'keep' | 'delete' }

/** decide() on a situation, with what the old plan reported derived from the intent. */
function plan(s: Situation) {
  const r = s.run ?? run();
  const intent = decide({
    run: runForCache(r), packs: s.packs ?? READY, pod: s.pod, podLost: s.podLost ?? false, apiServer: [],
    grantPolicy: DEFAULT_GRANT_POLICY, settings: { ...settings, podRetention: s.podRetention ?? 'keep' },
  }, NOW);
  return view(intent, r);
}

function view(intent: Intent, r: AgentRun) {
  const status = intent.status ?? r.status ?? {};
  const ended = status.phase === 'Succeeded' || status.phase === 'Failed';
  const applied = (kind: string) => intent.apply.find((o) => o.kind === kind);
  const deleted = (kind: string) => intent.delete.some((o) => o.kind === kind);
  return {
    intent, status,
    createPod: intent.createPod !== undefined,
    /** The gate the pod gets or is set to (the created pod's annotation, else the gate patch). */
    gate: intent.createPod?.metadata?.annotations?.[ANNOTATION_DISABLED_SKILLS] ?? intent.gate?.value,
    holdsRole: applied('Role') !== undefined,
    keepGrants: !deleted('ServiceAccount') && applied('ServiceAccount') !== undefined,
    revokes: deleted('ServiceAccount'),
    isolatePod: ended && applied('NetworkPolicy') !== undefined,
    deletePod: intent.deletePod !== undefined,
    deleteRun: intent.deleteRun,
    requeueAfterMs: intent.requeueAfterMs,
    events: intent.events,
  };
}
const condition = (status: AgentRunStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe('decide', () => {
  it('waits in Pending for a missing pack, naming it, and creates nothing', () => {
    const p = plan({ packs: new Map([...READY, ['fetch', { ready: false, reason: 'NotFound', message: 'SkillPack fetch not found' }]]) });
    expect(p.status.phase).toBe('Pending');
    expect(p.createPod).toBe(false);
    expect(condition(p.status, 'SkillPacksReady')).toMatchObject({ status: 'False', reason: 'SkillPackNotFound', message: 'fetch: SkillPack fetch not found', observedGeneration: 2 });
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForSkillPacks' });
    expect(p.events.map((e) => e.reason)).toEqual(['WaitingForSkillPacks']);
  });

  it('creates the pod when every pack is ready, granting only enabled skills', () => {
    const p = plan({ run: run({ skills: [{ name: 'kubectl', enabled: false }, { name: 'fetch', enabled: true }] }) });
    expect(p.createPod).toBe(true);
    expect(p.holdsRole).toBe(false); // kubectl, the one skill with RBAC, is off
    expect(p.gate).toBe('kubectl');
    expect(p.keepGrants).toBe(true);
    expect(p.status.skills).toEqual([
      { name: 'kubectl', enabled: false, ready: false, rbac: 'Revoked', message: 'switched off' },
      { name: 'fetch', enabled: true, ready: false, rbac: 'None', message: 'sidecar not ready' },
    ]);
    expect(p.requeueAfterMs).toBe(540_050); // the deadline: created 60 s ago, 600 s timeout
  });

  it('never creates a second pod once podName is set', () => {
    expect(plan({ run: run({ status: started('Pending') }), pod: pod('Pending', undefined) }).createPod).toBe(false);
  });

  it.each([
    { name: 'pod pending', pod: pod('Pending', { state: { waiting: { reason: 'PodInitializing' } } }), phase: 'Pending', ready: ['False', 'PodPending'] },
    { name: 'agent running, skills ready', pod: pod('Running', running), phase: 'Running', ready: ['True', 'Running'] },
    { name: 'agent running, a skill not ready', pod: pod('Running', running, [sidecar('kubectl', true), sidecar('fetch', false)]), phase: 'Running', ready: ['False', 'SkillsNotReady'] },
  ])('maps $name', ({ pod: p, phase, ready }) => {
    const result = plan({ run: run({ status: started('Pending') }), pod: p });
    expect(result.status.phase).toBe(phase);
    expect(condition(result.status, 'Ready')).toMatchObject({ status: ready[0], reason: ready[1] });
    expect(condition(result.status, 'Succeeded')).toMatchObject({ status: 'Unknown' });
  });

  it('marks the start of the agent with an event and reports ready skills', () => {
    const p = plan({ run: run({ status: started('Pending') }), pod: pod('Running', running) });
    expect(p.events).toEqual([{ type: 'Normal', reason: 'Started', message: 'the agent is running' }]);
    expect(p.status.skills?.map((s) => [s.name, s.ready, s.rbac])).toEqual([['kubectl', true, 'Granted'], ['fetch', true, 'None']]);
    expect(p.status.skillsReady).toBe('2/2');
  });

  it.each([
    { name: 'agent exit 0', agent: exited(0, 'all fixed'), phase: 'Succeeded', succeeded: ['True', 'AgentSucceeded'], result: 'all fixed' },
    { name: 'agent exit 3', agent: exited(3, 'gave up'), phase: 'Failed', succeeded: ['False', 'AgentFailed'], result: 'gave up' },
  ])('finishes on $name: result copied, grants revoked', ({ agent, phase, succeeded, result }) => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', agent) });
    expect(p.status.phase).toBe(phase);
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: succeeded[0], reason: succeeded[1] });
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'Finished' });
    expect(p.status.result).toBe(result);
    expect(p.status.completionTime).toBe('2026-03-01T12:00:00Z');
    expect(p.keepGrants).toBe(false);
    expect(p.holdsRole).toBe(false);
    expect(p.deletePod).toBe(false);
    expect(p.status.skills?.find((s) => s.name === 'kubectl')?.rbac).toBe('Revoked');
  });

  it('reads the result and the reported usage from the termination-message envelope; plain text stays the result', () => {
    const envelope = JSON.stringify({ skillpod: 'v1', result: 'three pods crash-loop', usage: { inputTokens: 1200, outputTokens: 80, model: 'gpt-x' } });
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, envelope)) });
    expect(p.status.result).toBe('three pods crash-loop');
    expect(p.status.usage).toEqual({ inputTokens: 1200, outputTokens: 80, model: 'gpt-x' });
    const plain = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, '{"not":"an envelope"}')) });
    expect(plain.status.result).toBe('{"not":"an envelope"}');
    expect(plain.status.usage).toBeUndefined();
  });

  it('cuts a long result and says so', () => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0, 'x'.repeat(5000))) });
    expect(p.status.result).toHaveLength(4096);
    expect(p.status.resultTruncated).toBe(true);
  });

  it('fails a run whose skill sidecar can never start, naming the skill', () => {
    const p = plan({ run: run({ status: started('Pending') }),
      pod: pod('Pending', { state: { waiting: { reason: 'PodInitializing' } } }, [sidecar('kubectl', true), sidecar('fetch', false, { state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } })]) });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: 'False', reason: 'SkillNotReady', message: 'skill fetch cannot start: ImagePullBackOff: no such image' });
  });

  it('fails a run whose pod vanished with PodLost', () => {
    const p = plan({ run: run({ status: started('Running') }), podLost: true });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ status: 'False', reason: 'PodLost' });
    expect(p.keepGrants).toBe(false);
  });

  it('times out a run whose pod never started, and deletes that pod', () => {
    const p = plan({ run: run({ status: started('Pending', { startTime: '2026-03-01T11:00:00Z' }) }), pod: pod('Pending', undefined, []) });
    expect(p.status.phase).toBe('Failed');
    expect(condition(p.status, 'Succeeded')).toMatchObject({ reason: 'Timeout' });
    expect(p.deletePod).toBe(true);
  });

  describe('never an unconfined pod: every way a run ends, and what becomes of its pod and NetworkPolicy', () => {
    const LATE = '2026-03-01T11:00:00Z'; // a run started an hour ago: its 600 s are over
    const waiting = (reason: string, message = '') => ({ state: { waiting: { reason, message } } });
    it.each([
      { name: 'a sidecar image that cannot be pulled', status: started('Pending'),
        pod: pod('Pending', waiting('PodInitializing'), [sidecar('kubectl', true), sidecar('fetch', false, waiting('ImagePullBackOff', 'no such image'))]),
        phase: 'Failed', reason: 'SkillNotReady', deletePod: true, isolatePod: true },
      { name: 'a sidecar restarted before the agent started (its startup probe failed)', status: started('Pending'),
        pod: pod('Pending', waiting('PodInitializing'), [sidecar('kubectl', true), sidecar('fetch', false, { restartCount: 1 })]),
        phase: 'Failed', reason: 'SkillNotReady', deletePod: true, isolatePod: true },
      { name: 'an agent image that cannot be pulled', status: started('Pending'), pod: pod('Pending', waiting('ErrImagePull')),
        phase: 'Failed', reason: 'AgentNotStarted', deletePod: true, isolatePod: true },
      { name: 'a Secret of the agent env that does not exist yet', status: started('Pending'), pod: pod('Pending', waiting('CreateContainerConfigError', 'secret "model" not found')),
        phase: 'Failed', reason: 'AgentNotStarted', deletePod: true, isolatePod: true },
      { name: 'the deadline of a pod never scheduled', status: started('Pending', { startTime: LATE }), pod: pod('Pending', undefined, []),
        phase: 'Failed', reason: 'Timeout', deletePod: true, isolatePod: true },
      { name: 'the deadline while the agent runs', status: started('Running', { startTime: LATE }),
        pod: pod('Running', running, undefined, undefined, (p) => { p.status.startTime = LATE; }),
        phase: 'Failed', reason: 'Timeout', deletePod: true, isolatePod: true },
      { name: 'the kubelet\'s own deadline', status: started('Running'),
        pod: pod('Failed', undefined, undefined, undefined, (p) => { p.status.reason = 'DeadlineExceeded'; p.status.message = 'Pod was active on the node longer than the specified deadline'; }),
        phase: 'Failed', reason: 'Timeout', deletePod: false, isolatePod: false },
      { name: 'a lost pod', status: started('Running'), pod: undefined, podLost: true,
        phase: 'Failed', reason: 'PodLost', deletePod: false, isolatePod: false },
      { name: 'an agent that failed while its sidecars linger', status: started('Running'), pod: pod('Running', exited(2)),
        phase: 'Failed', reason: 'AgentFailed', deletePod: false, isolatePod: true },
      { name: 'an agent that succeeded while its sidecars linger', status: started('Running'), pod: pod('Running', exited(0)),
        phase: 'Succeeded', reason: 'AgentSucceeded', deletePod: false, isolatePod: true },
      { name: 'a pod that has ended', status: started('Succeeded', { completionTime: CREATED }), pod: pod('Succeeded', exited(0)),
        phase: 'Succeeded', reason: undefined, deletePod: false, isolatePod: false },
      { name: 'a pod already being deleted', status: started('Failed', { completionTime: CREATED }),
        pod: pod('Running', running, undefined, undefined, (p) => { p.metadata.deletionTimestamp = CREATED; }),
        phase: 'Failed', reason: undefined, deletePod: false, isolatePod: true },
    ])('$name', ({ status, pod: thePod, podLost, phase, reason, deletePod, isolatePod }) => {
      const p = plan({ run: run({ status }), pod: thePod, podLost: podLost ?? false });
      expect(p.status.phase).toBe(phase);
      if (reason) expect(condition(p.status, 'Succeeded')?.reason).toBe(reason);
      expect(p.keepGrants).toBe(false);
      expect(p.deletePod).toBe(deletePod);
      expect(p.isolatePod).toBe(isolatePod);
    });

    it('keeps why a run made no progress when it times out (a pod the API server refused)', () => {
      const refused = { type: 'Ready', status: 'False' as const, reason: 'PodRefused', message: 'the API server refused the run\'s pod: pods "x" is forbidden: violates PodSecurity "restricted:latest"', lastTransitionTime: CREATED };
      const p = plan({ run: run({ status: { phase: 'Pending', startTime: '2026-03-01T11:00:00Z', conditions: [refused] } }) });
      expect(p.status.phase).toBe('Failed');
      expect(condition(p.status, 'Succeeded')?.message).toBe(`the run did not finish within 600s; before that, PodRefused: ${refused.message}`);
    });

    it('counts the deadline from the pod\'s startTime, as the kubelet counts activeDeadlineSeconds', () => {
      // The run recorded its start when it created the pod; the kubelet started the pod 10 minutes later.
      const status = started('Running', { startTime: '2026-03-01T11:45:00Z' });
      const late = pod('Running', running, undefined, undefined, (p) => { p.status.startTime = '2026-03-01T11:55:00Z'; });
      const p = plan({ run: run({ status }), pod: late });
      expect(p.status.phase).toBe('Running');
      expect(p.requeueAfterMs).toBe(5 * 60_000 + 50); // 11:55 + 600 s − 12:00
    });
  });

  it('keeps a finished run finished, whatever happens to the pod later', () => {
    const done = started('Succeeded', { completionTime: '2026-03-01T11:59:30Z', result: 'ok' });
    const p = plan({ run: run({ status: done }), podLost: true });
    expect(p.status.phase).toBe('Succeeded');
    expect(p.status.result).toBe('ok');
    expect(p.status.completionTime).toBe('2026-03-01T11:59:30Z');
    expect(p.events).toEqual([]);
  });

  it.each([
    { ttl: 0, deleteRun: true, requeue: undefined },
    { ttl: 60, deleteRun: false, requeue: 30_050 },
  ])('honours ttlSecondsAfterFinished=$ttl', ({ ttl, deleteRun, requeue }) => {
    const p = plan({ run: run({ ttl, status: started('Succeeded', { completionTime: '2026-03-01T11:59:30Z' }) }), pod: pod('Succeeded', exited(0)) });
    expect(p.deleteRun).toBe(deleteRun);
    expect(p.requeueAfterMs).toBe(requeue);
  });

  it('deletes the finished pod when the retention setting says so', () => {
    const p = plan({ run: run({ status: started('Running') }), pod: pod('Running', exited(0)), podRetention: 'delete' });
    expect(p.deletePod).toBe(true);
  });

  it('revokes a skill switched off during the run and closes its gate', () => {
    const before = plan({ run: run({ status: started('Pending') }), pod: pod('Running', running) }).status;
    const p = plan({ run: { ...run({ skills: [{ name: 'kubectl', enabled: false }, { name: 'fetch', enabled: true }] }), status: before }, pod: pod('Running', running) });
    expect(p.holdsRole).toBe(false);
    expect(p.gate).toBe('kubectl');
    expect(p.intent.delete).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Role' }), expect.objectContaining({ kind: 'RoleBinding' })]));
    expect(p.status.skills?.[0]).toMatchObject({ name: 'kubectl', enabled: false, ready: false, rbac: 'Revoked', message: 'switched off' });
    expect(p.events).toEqual([{ type: 'Normal', reason: 'SkillRevoked', message: 'skill kubectl: permissions revoked (switched off)' }]);
  });

  it('revokes a skill whose pack is deleted during the run', () => {
    const before = started('Running', { skills: [{ name: 'kubectl', enabled: true, ready: true, rbac: 'Granted' }, { name: 'fetch', enabled: true, ready: true, rbac: 'None' }] });
    const p = plan({ run: run({ status: before }), pod: pod('Running', running),
      packs: new Map([...READY, ['kubectl', { ready: false, reason: 'NotFound', message: 'SkillPack kubectl not found' }]]) });
    expect(p.holdsRole).toBe(false);
    expect(p.gate).toBe('kubectl');
    expect(p.status.phase).toBe('Running');
    expect(p.status.skills?.[0]).toMatchObject({ name: 'kubectl', rbac: 'Revoked', ready: false });
  });

  it('reports a skill added after the pod was created, without granting it', () => {
    const r = run({ skills: [{ name: 'kubectl', enabled: true }, { name: 'fetch', enabled: true }], status: started('Running') });
    const p = plan({ run: r, pod: pod('Running', running, [sidecar('kubectl', true)], ['kubectl']) });
    expect(p.holdsRole).toBe(true);
    expect(p.gate).toBeUndefined(); // the pod's gate is already '' (fetch has no sidecar to gate)
    expect(condition(p.status, 'SkillsInPod')).toMatchObject({ status: 'False', reason: 'SkillNotInPod' });
    expect(p.status.skills?.[1]).toMatchObject({ name: 'fetch', ready: false, message: 'added after the pod was created: no sidecar' });
  });
});

describe('decide: the intent act() carries out', () => {
  const CLUSTER = new Map<string, PackView>([['nodes', { pack: pack('nodes', 'cluster'), ready: true, reason: 'Valid', message: '' }]]);
  const clusterRun = (o: Parameters<typeof run>[0] = {}) => run({ skills: [{ name: 'nodes', enabled: true }], ...o });
  const kinds = (refs: ReadonlyArray<{ kind?: string }>) => refs.map((r) => r.kind).sort();

  it('adds the finalizer before a run gets cluster-wide rules, and applies them with the pod', () => {
    const { intent } = plan({ run: clusterRun(), packs: CLUSTER });
    expect(intent.finalizer).toBe('add');
    expect(kinds(intent.apply)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'NetworkPolicy', 'ServiceAccount']);
    expect(kinds(intent.delete)).toEqual(['Role', 'RoleBinding']);
    expect(intent.createPod?.metadata?.name).toBe('fix-it-0123abcd0000');
    expect(intent.status).toMatchObject({ podName: 'fix-it-0123abcd0000', serviceAccountName: 'fix-it-0123abcd0000', startTime: '2026-03-01T12:00:00Z' });
    expect(intent.events[0]).toEqual({ type: 'Normal', reason: 'PodCreated', message: 'created pod fix-it-0123abcd0000' });
  });

  it('deletes cluster-wide rules only on runs that may hold them (the finalizer says so)', () => {
    const off = [{ name: 'nodes', enabled: false }];
    const podOf = pod('Running', running, [sidecar('nodes', true)], [], (p) => { (p.metadata.annotations as Record<string, string>)[ANNOTATION_GRANTS] = renderGrantSnapshot({ version: 1, packs: { nodes: packGrant(pack('nodes', 'cluster')) } }); });
    const withFinalizer = plan({ run: clusterRun({ skills: off, finalizers: [FINALIZER], status: started('Running') }), packs: CLUSTER, pod: podOf }).intent;
    expect(kinds(withFinalizer.delete)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    expect(withFinalizer.finalizer).toBeUndefined(); // kept while the run lives: it may be switched on again
    expect(withFinalizer.gate).toEqual({ pod: 'fix-it-0123abcd0000', value: 'nodes' });
    const without = plan({ run: clusterRun({ skills: off, status: started('Running') }), packs: CLUSTER, pod: podOf }).intent;
    expect(kinds(without.delete)).toEqual(['Role', 'RoleBinding']);
  });

  it('revokes everything when the run ends, and releases the finalizer after the cluster-wide grants', () => {
    const { intent } = plan({ run: clusterRun({ finalizers: [FINALIZER], status: started('Running') }), packs: CLUSTER,
      pod: pod('Succeeded', exited(0), [sidecar('nodes', false)], []) });
    expect(intent.apply).toEqual([]);
    expect(kinds(intent.delete)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'NetworkPolicy', 'Role', 'RoleBinding', 'ServiceAccount']);
    expect(intent.finalizer).toBe('remove');
    expect(condition(intent.status!, 'GrantsRevoked')).toMatchObject({ status: 'True', reason: 'RunFinished' });
  });

  it('once GrantsRevoked, only the NetworkPolicy is looked after', () => {
    const revoked = started('Succeeded', { completionTime: CREATED, conditions: [{ type: 'GrantsRevoked', status: 'True', reason: 'RunFinished', message: '', lastTransitionTime: CREATED }] });
    const { intent } = plan({ run: run({ status: revoked }), pod: pod('Running', exited(0)) });
    expect(kinds(intent.apply)).toEqual(['NetworkPolicy']);
    expect(intent.apply[0]).toMatchObject({ spec: { policyTypes: ['Ingress', 'Egress'] } });
    expect(intent.delete).toEqual([]);
  });

  it('a run being deleted: removes its cluster-wide grants, then the finalizer, and builds nothing', () => {
    const { intent } = plan({ run: clusterRun({ deleting: true, finalizers: [FINALIZER], status: started('Running') }), packs: CLUSTER });
    expect(intent).toEqual({
      apply: [], events: [], deleteRun: false, finalizer: 'remove',
      delete: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'skillpod:team-a:fix-it-0123abcd0000' },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'skillpod:team-a:fix-it-0123abcd0000' },
      ],
    });
    expect(plan({ run: run({ deleting: true }) }).intent).toEqual({ apply: [], delete: [], events: [], deleteRun: false });
  });

  it('an invalid run: Ready=False InvalidSpec with the parse error, once', () => {
    const bad = { ...run(), spec: { task: '' } } as unknown as AgentRun;
    const first = decide({ run: runForCache(bad), packs: new Map(), podLost: false, apiServer: [], grantPolicy: DEFAULT_GRANT_POLICY, settings }, NOW);
    const ready = condition(first.status!, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready?.message).toContain('AgentRun team-a/fix-it is invalid: spec.task');
    expect(first.events).toEqual([{ type: 'Warning', reason: 'InvalidSpec', message: ready?.message }]);
    const again = decide({ run: runForCache({ ...bad, status: first.status } as unknown as KubeObject), packs: new Map(), podLost: false, apiServer: [], grantPolicy: DEFAULT_GRANT_POLICY, settings }, NOW);
    expect(again).toEqual({ apply: [], delete: [], events: [], deleteRun: false });
  });

  it('writes no status when nothing changed (a second pass is a no-op)', () => {
    const first = plan({ run: run({ status: started('Pending') }), pod: pod('Running', running) });
    const second = plan({ run: run({ status: first.status }), pod: pod('Running', running) });
    expect(second.intent.status).toBeUndefined();
    expect(second.events).toEqual([]);
  });

  it('holds a run whose agent egress the grant policy no longer allows', () => {
    const r = run();
    r.spec.agent = { egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 22, protocol: 'TCP' }] }] }; // the default policy allows 443 and 80
    const p = plan({ run: r });
    expect(p.createPod).toBe(false);
    expect(p.keepGrants).toBe(false);
    expect(condition(p.status, 'Ready')).toMatchObject({ status: 'False', reason: 'AgentEgressNotAllowed' });
  });
});
